"""Chapters 8-9 in gdcore: ridge and soft-thresholding against closed forms, proximal
gradient descent in fit, validation monitoring with early stopping, accuracy, and
cross-entropy that stays finite at logits of +-1000."""
import warnings

import numpy as np
import pytest

import gdcore as gd

_rng = np.random.default_rng(11)
X = _rng.standard_normal((40, 6))
TRUE = np.array([2.0, 0.0, 0.0, -1.5, 0.0, 0.0])
Y = X @ TRUE + 0.1 * _rng.standard_normal(40)


# ------------------------------------------------------------------ L2 / ridge
def test_ridge_closed_form_solves_the_normal_equations_and_matches_lstsq():
    ridge = gd.L2Penalty(gd.LinearRegression(X, Y), strength=0.3)
    theta = ridge.solution()
    np.testing.assert_allclose(ridge.grad(theta), 0.0, atol=1e-12)
    # ridge = least squares on X stacked over sqrt(n lambda) I
    n, d = ridge.X.shape
    stacked = np.vstack([ridge.X, np.sqrt(n * 0.3) * np.eye(d)])
    reference = np.linalg.lstsq(stacked, np.concatenate([Y, np.zeros(d)]), rcond=None)[0]
    np.testing.assert_allclose(theta, reference, rtol=1e-10, atol=1e-12)


def test_ridge_shrinks_each_eigendirection_by_its_factor():
    # in the eigenbasis of H = X^T X / n, ridge multiplies the least-squares
    # coefficient along eigenvalue s by s / (s + lambda)
    plain = gd.LinearRegression(X, Y, bias=False)
    lam = 0.5
    eigenvalues, Q = np.linalg.eigh(plain.X.T @ plain.X / len(Y))
    ridge = gd.L2Penalty(plain, lam).solution()
    np.testing.assert_allclose(Q.T @ ridge, eigenvalues / (eigenvalues + lam) * (Q.T @ plain.solution()),
                               rtol=1e-10)


def test_ridge_solution_needs_linear_regression():
    with pytest.raises(TypeError, match="solution: the closed form needs a LinearRegression"):
        gd.L2Penalty(gd.LogisticRegression(X, (Y > 0) * 1.0), 0.1).solution()


def test_l2_prox_is_the_minimiser_of_its_subproblem():
    # prox(v) = argmin_z  lambda/2 |z|^2 + |z - v|^2 / (2 lr): gradient zero there
    penalty = gd.L2Penalty(gd.LinearRegression(X, Y), strength=0.8)
    v = _rng.standard_normal(7)
    z = penalty.prox(v, lr=0.25)
    np.testing.assert_allclose(0.8 * z + (z - v) / 0.25, 0.0, atol=1e-14)


# ------------------------------------------------------------- L1 / soft threshold
def test_soft_threshold_matches_the_scalar_closed_form_and_a_grid_search():
    penalty = gd.L1Penalty(gd.LinearRegression(X, Y), strength=0.5)
    v = np.array([-2.0, -0.15, 0.0, 0.05, 0.2, 1.0])
    z = penalty.prox(v, lr=0.4)                       # threshold 0.2
    np.testing.assert_allclose(z, [-1.8, 0.0, 0.0, 0.0, 0.0, 0.8], rtol=1e-15)
    assert np.count_nonzero(z == 0) == 4                  # exact zeros inside the threshold
    grid = np.linspace(-3, 3, 600_001)
    for vi, zi in zip(v, z):
        objective = 0.5 * np.abs(grid) + (grid - vi) ** 2 / (2 * 0.4)
        assert abs(grid[np.argmin(objective)] - zi) < 1e-5


def lasso_kkt_violation(problem, theta):
    """How far theta is from the lasso optimality conditions: g_j = -lambda sign(theta_j)
    where theta_j != 0, and |g_j| <= lambda where theta_j = 0 (g the smooth gradient)."""
    g, lam = problem.problem.grad(theta), problem.strength
    nonzero = theta != 0
    return max(np.abs(g[nonzero] + lam * np.sign(theta[nonzero])).max(initial=0.0),
               (np.abs(g[~nonzero]) - lam).max(initial=0.0))


def test_proximal_fit_reaches_the_lasso_solution_with_exact_zeros():
    lasso = gd.L1Penalty(gd.LinearRegression(X, Y), strength=0.2)
    step = 1 / np.linalg.eigvalsh(lasso.X.T @ lasso.X / len(Y)).max()
    theta = np.zeros(7)
    history = gd.fit(lasso, gd.SGD(theta, lr=step), steps=3000, proximal=True)
    assert lasso_kkt_violation(lasso, theta) < 1e-9
    assert np.count_nonzero(theta == 0) >= 3              # sparse: exact zeros
    assert np.all(np.diff(history.loss) <= 1e-12)        # ISTA never increases the loss
    # the subgradient method on the same problem ends with no exact zero
    sub = np.zeros(7)
    gd.fit(lasso, gd.SGD(sub, lr=step), steps=3000)
    assert np.count_nonzero(sub == 0) == 0
    assert lasso.loss(sub) >= lasso.loss(theta)


def test_proximal_fit_with_l2_reaches_ridge():
    ridge = gd.L2Penalty(gd.LinearRegression(X, Y), strength=0.3)
    theta = np.zeros(7)
    gd.fit(ridge, gd.SGD(theta, lr=0.5), steps=2000, proximal=True)
    np.testing.assert_allclose(theta, ridge.solution(), atol=1e-10)


def test_proximal_step_uses_the_scheduled_rate():
    lasso = gd.L1Penalty(gd.LinearRegression(X, Y), strength=0.2)
    schedule = gd.schedules.exponential(0.1, 0.5)
    theta = np.zeros(7) + 0.3
    expected = theta.copy()
    for t in range(3):
        lr = 0.1 * 0.5 ** t
        expected = lasso.prox(expected - lr * lasso.problem.grad(expected), lr)
    gd.fit(lasso, gd.SGD(theta, lr=schedule), steps=3, proximal=True)
    np.testing.assert_allclose(theta, expected, rtol=1e-14)


def test_proximal_needs_a_penalty():
    theta = np.zeros(7)
    with pytest.raises(TypeError, match="proximal: LinearRegression has no proximal step"):
        gd.fit(gd.LinearRegression(X, Y), gd.SGD(theta, lr=0.1), steps=3, proximal=True)
    with pytest.raises(TypeError, match="proximal: the proximal step takes one scalar rate"):
        gd.fit(gd.L1Penalty(gd.LinearRegression(X, Y), 0.1), gd.Adam(theta, lr=0.1), steps=3,
               proximal=True)
    assert not theta.any()


# -------------------------------------------------------- validation and early stopping
def split_problems():
    X_tr, X_val, y_tr, y_val = gd.datasets.train_val_split(X, Y, val_fraction=0.25, seed=0)
    return gd.LinearRegression(X_tr, y_tr), gd.LinearRegression(X_val, y_val)


def test_validation_loss_is_recorded_at_every_evaluation():
    train, val = split_problems()
    history = gd.fit(train, gd.SGD(np.zeros(7), lr=0.05), steps=20, eval_every=5,
                     validation=val, record_trajectory=True)
    assert len(history.val_loss) == len(history.step) == 5
    np.testing.assert_allclose(history.val_loss, [val.loss(th) for th in history.trajectory])
    assert history.best_step == history.step[np.argmin(history.val_loss)]


def test_early_stopping_restores_the_best_parameters():
    # many features, few samples: the validation loss has a minimum, then rises
    rng = np.random.default_rng(5)
    Xw = rng.standard_normal((30, 25))
    yw = Xw[:, 0] + 0.8 * rng.standard_normal(30)
    X_tr, X_val, y_tr, y_val = gd.datasets.train_val_split(Xw, yw, val_fraction=0.5, seed=1)
    train, val = gd.LinearRegression(X_tr, y_tr), gd.LinearRegression(X_val, y_val)
    theta = np.zeros(26)
    history = gd.fit(train, gd.SGD(theta, lr=0.05), steps=5000, validation=val, patience=20,
                     restore_best=True, record_trajectory=True)
    assert history.stop_reason == "early_stopped"
    best = int(np.argmin(history.val_loss))
    assert len(history.val_loss) - 1 - best == 20          # exactly patience evaluations after
    np.testing.assert_array_equal(theta, history.trajectory[best])
    assert history.best_step == history.step[best] > 0
    assert val.loss(theta) < history.val_loss[-1]


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(restore_best=True), ValueError, "restore_best: there is nothing to restore"),
    (dict(validation=gd.LinearRegression(X[:, :2], Y)), ValueError,
     r"validation has parameter shape \(3,\), but the problem's is \(7,\)"),
    (dict(validation="val"), TypeError, "validation must be a gdcore Problem, got str"),
])
def test_validation_bad_input(kwargs, error, message):
    theta = np.zeros(7)
    with pytest.raises(error, match=message):
        gd.fit(gd.LinearRegression(X, Y), gd.SGD(theta, lr=0.1), steps=3, **kwargs)
    assert not theta.any()


# ------------------------------------------------------------------ classification
def test_accuracy_counts_correct_predictions():
    Xc = np.array([[1.0], [2.0], [-1.0], [-3.0]])
    logistic = gd.LogisticRegression(Xc, np.array([1.0, 0.0, 0.0, 0.0]), bias=False)
    assert logistic.accuracy(np.array([1.0])) == 0.75
    assert logistic.accuracy(np.array([1.0]), idx=np.array([1, 2])) == 0.5
    softmax = gd.SoftmaxRegression(Xc, np.array([0, 1, 1, 2]), bias=False)
    theta = np.array([[1.0, 0.0, -1.0]])               # logits x, 0, -x: class 0 for x > 0
    assert softmax.accuracy(theta) == 0.5              # rows 0 and 3 right


def test_predict_on_new_points_agrees_with_the_probabilities_and_accuracy():
    X_m, y_m = gd.datasets.moons(80, seed=1)
    logistic = gd.LogisticRegression(X_m, y_m)
    theta = np.array([0.5, -2.0, 0.3])
    predicted = logistic.predict(theta, X_m)               # raw features: bias added inside
    np.testing.assert_array_equal(predicted, (logistic.probabilities(theta, logistic.X) > 0.5) * 1)
    assert logistic.accuracy(theta) == np.mean(predicted == y_m)
    with pytest.raises(ValueError, match="X has 3 features; this problem has 2"):
        logistic.predict(theta, np.ones((4, 3)))


def test_accuracy_on_tensors_matches_numpy():
    torch = pytest.importorskip("torch")
    Xb, yb = gd.datasets.blobs(n=60, classes=3, seed=2)
    theta = _rng.standard_normal((3, 3))
    on_numpy = gd.SoftmaxRegression(Xb, yb).accuracy(theta)
    on_torch = gd.SoftmaxRegression(torch.as_tensor(Xb), torch.as_tensor(yb)).accuracy(
        torch.as_tensor(theta))
    assert on_numpy == on_torch


def huge_logit_problems(convert=np.asarray):
    """Rows whose logits are +-1000 at theta (1000 and -1000 on one feature, no bias);
    ``convert`` turns the NumPy data into the array type wanted."""
    Xh = convert(np.array([[1.0], [-1.0], [1.0], [-1.0]]))
    binary = gd.LogisticRegression(Xh, convert(np.array([1.0, 1.0, 0.0, 0.0])), bias=False)
    multi = gd.SoftmaxRegression(Xh, convert(np.array([0, 0, 1, 2])), n_classes=3, bias=False)
    return binary, np.array([1000.0]), multi, np.array([[1000.0, -1000.0, 0.0]])


def test_cross_entropy_is_exact_at_logits_of_1000():
    binary, tb, multi, tm = huge_logit_problems()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # no overflow warning allowed
        # per row: right and confident (0), wrong by 1000, wrong by 1000, right (0)
        assert binary.loss(tb) == pytest.approx(2000 / 4, rel=1e-15)
        # logits rows (1000, -1000, 0) and (-1000, 1000, 0); log-sum-exp = 1000 in each
        assert multi.loss(tm) == pytest.approx((0 + 2000 + 2000 + 1000) / 4, rel=1e-15)
        for problem, theta in ((binary, tb), (multi, tm)):
            g = problem.grad(theta)
            assert np.isfinite(g).all()
        P = multi.probabilities(tm, multi.X)
        np.testing.assert_allclose(P.sum(axis=1), 1.0)
        np.testing.assert_array_equal(P, [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]])


def test_cross_entropy_at_logits_of_1000_agrees_with_torch(device):
    torch = pytest.importorskip("torch")
    binary, tb, multi, tm = huge_logit_problems()
    tbin, _, tmul, _ = huge_logit_problems(lambda a: torch.as_tensor(a, device=device))
    for ours, theirs, theta in ((binary, tbin, tb), (multi, tmul, tm)):
        t = torch.as_tensor(theta, device=device).requires_grad_()
        loss = theirs.loss(t)
        loss.backward()
        assert float(loss.detach()) == pytest.approx(ours.loss(theta), rel=1e-15)
        np.testing.assert_allclose(t.grad.cpu().numpy(), ours.grad(theta), atol=1e-15)
    # torch's own cross-entropy gives the same values
    logits = torch.as_tensor(multi.X @ tm, device=device)
    reference = torch.nn.functional.cross_entropy(logits, torch.as_tensor(multi.y, device=device))
    assert float(reference) == pytest.approx(multi.loss(tm), rel=1e-15)
