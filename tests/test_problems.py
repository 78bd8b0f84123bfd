"""Problems: analytic gradients against central differences and torch autograd,
known values, and least squares against np.linalg.lstsq.

The problems are array-agnostic: each is built once from NumPy arrays and
once from the same data as torch float64 tensors; on the torch one,
``loss`` at a theta with ``requires_grad=True`` and ``backward`` give
autograd's gradient, which must equal the analytic ``grad``.
"""
import math

import numpy as np
import pytest

import gdcore as gd

_rng = np.random.default_rng(7)
X = _rng.standard_normal((30, 3))
Y_REAL = X @ np.array([1.0, -0.5, 2.0]) + 0.3 * _rng.standard_normal(30)
Y_BINARY = (Y_REAL > 0).astype(float)
Y_CLASS = _rng.integers(0, 4, size=30)
A_QUAD = gd.Quadratic.with_condition(20, dim=4, seed=3).A
B_QUAD = _rng.standard_normal(4)
SUBSET = np.array([0, 3, 4, 11, 29])


def build(name, xp, device="cpu"):
    """The problem ``name`` on NumPy data (xp=np), or on the same data as torch tensors."""
    def arr(a):
        return a if xp is np else xp.as_tensor(a, device=device)

    if name == "LinearRegression":
        return gd.LinearRegression(arr(X), arr(Y_REAL))
    if name == "LinearRegression(no bias)":
        return gd.LinearRegression(arr(X), arr(Y_REAL), bias=False)
    if name == "LogisticRegression":
        return gd.LogisticRegression(arr(X), arr(Y_BINARY))
    if name == "SoftmaxRegression":
        return gd.SoftmaxRegression(arr(X), arr(Y_CLASS), n_classes=5)
    if name == "Quadratic":   # A and b (checked with NumPy) move to theta's device
        return gd.Quadratic(*(m if xp is np else xp.as_tensor(m) for m in (A_QUAD, B_QUAD)))
    if name == "Rosenbrock":
        return gd.Rosenbrock(a=1.5, b=50.0)
    if name == "DoubleWell":
        return gd.DoubleWell(tilt=0.3)
    if name == "DoubleWell(dim=3)":
        return gd.DoubleWell(tilt=0.3, dim=3)
    if name == "Saddle":
        return gd.Saddle()
    if name == "L1Penalty":
        return gd.L1Penalty(gd.LogisticRegression(arr(X), arr(Y_BINARY)), strength=0.2)
    if name == "L2Penalty":
        return gd.L2Penalty(gd.LinearRegression(arr(X), arr(Y_REAL)), strength=0.7)
    if name == "one_coefficient_problem":
        problem = gd.one_coefficient_problem()
        if xp is not np:
            problem = gd.LinearRegression(arr(problem.X), arr(problem.y), bias=False)
        return problem
    raise KeyError(name)


NAMES = ["LinearRegression", "LinearRegression(no bias)", "LogisticRegression",
         "SoftmaxRegression", "Quadratic", "Rosenbrock", "DoubleWell", "DoubleWell(dim=3)",
         "Saddle", "L1Penalty", "L2Penalty", "one_coefficient_problem"]


def point(problem, seed=0):
    """A theta away from 0 in every entry (L1's kink) and away from special points."""
    rng = np.random.default_rng(seed)
    magnitude = rng.uniform(0.2, 1.0, size=problem.shape)
    return magnitude * rng.choice([-1.0, 1.0], size=problem.shape)


def subsets(problem):
    if problem.n_samples is None:
        return [None]
    return [None, SUBSET[SUBSET < problem.n_samples]]


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    problem = build(name, np)
    for seed in range(3):
        theta = point(problem, seed)
        for idx in subsets(problem):
            analytic = problem.grad(theta, idx)
            assert analytic.shape == theta.shape
            numeric = gd.numerical_gradient(lambda th: problem.loss(th, idx), theta).grad
            np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_torch_autograd(name, device):
    torch = pytest.importorskip("torch")
    problem_np = build(name, np)
    problem = build(name, torch, device)
    for seed in range(3):
        theta_np = point(problem_np, seed)
        for idx in subsets(problem_np):
            theta = torch.tensor(theta_np, device=device, requires_grad=True)
            idx_t = None if idx is None else torch.as_tensor(idx, device=device)
            loss = problem.loss(theta, idx_t)
            loss.backward()
            analytic = problem.grad(theta.detach(), idx_t)
            assert isinstance(analytic, torch.Tensor) and analytic.device == theta.device
            torch.testing.assert_close(analytic, theta.grad, rtol=1e-10, atol=1e-12)
            # the same numbers as the NumPy problem
            assert math.isclose(loss.item(), float(problem_np.loss(theta_np, idx)),
                                rel_tol=1e-12)
            np.testing.assert_allclose(analytic.cpu().numpy(), problem_np.grad(theta_np, idx),
                                       rtol=1e-10, atol=1e-12)


def test_one_coefficient_problem_values():
    problem = gd.one_coefficient_problem()
    for w, expected in [(0.3, 0.5), (0.35, 0.605), (0.25, 0.405), (-0.2, 0.0)]:
        assert problem.loss(np.array([w])) == pytest.approx(expected, abs=1e-12)
        # J(w) = 2 (w + 0.2)^2, so J'(w) = 4 (w + 0.2)
        assert problem.grad(np.array([w]))[0] == pytest.approx(4 * (w + 0.2), abs=1e-12)


def test_one_coefficient_problem_on_a_subset():
    problem = gd.one_coefficient_problem()
    idx = np.array([1, 4])               # x = 1 and x = 3: J = (1 + 9) / 4 (w + 0.2)^2
    w = np.array([0.3])
    assert problem.loss(w, idx) == pytest.approx(2.5 * 0.25, abs=1e-12)
    assert problem.grad(w, idx)[0] == pytest.approx(5 * 0.5, abs=1e-12)


def test_bgd_on_linear_regression_reaches_lstsq():
    X_lin, y_lin = gd.linear_data(n=200, slope=[1.5, -0.7, 0.2], intercept=0.4, features=3,
                                  seed=1)
    problem = gd.LinearRegression(X_lin, y_lin)
    hessian_top = np.linalg.eigvalsh(problem.X.T @ problem.X / len(y_lin))[-1]
    theta = np.zeros(problem.shape)
    history = gd.fit(problem, gd.SGD(theta, lr=1 / hessian_top), steps=20000, batch_size=None,
                     grad_tol=1e-12)
    assert history.stop_reason == "grad_tol"
    lstsq = np.linalg.lstsq(problem.X, y_lin, rcond=None)[0]
    np.testing.assert_allclose(theta, lstsq, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(problem.solution(), lstsq, rtol=1e-12)
    # every step saw all n samples
    assert history.samples[-1] == history.steps_taken * len(y_lin)


def test_known_minimisers():
    quad = gd.Quadratic(A_QUAD, B_QUAD)
    np.testing.assert_allclose(quad.grad(quad.solution()), 0, atol=1e-12)
    rosen = gd.Rosenbrock(a=1.5, b=50.0)
    np.testing.assert_array_equal(rosen.solution(), [1.5, 2.25])
    assert rosen.loss(rosen.solution()) == 0
    np.testing.assert_array_equal(rosen.grad(rosen.solution()), [0, 0])
    well = gd.DoubleWell(tilt=0.25)
    minima = well.minima()
    assert len(minima) == 2 and minima[0] < 0 < minima[1]
    for m in minima:
        assert abs(well.grad(np.array([m]))[0]) < 1e-12
    assert well.loss(minima[:1]) < well.loss(minima[1:])


def test_quadratic_with_condition_has_requested_spectrum():
    for kappa in (1, 10, 1000):
        q = gd.Quadratic.with_condition(kappa, dim=5, lambda_min=0.5)
        np.testing.assert_allclose(q.eigenvalues, np.linspace(0.5, 0.5 * kappa, 5), rtol=1e-10)
        np.testing.assert_allclose(q.A, q.A.T)


def test_l1_penalty_subgradient_and_prox():
    problem = gd.L1Penalty(gd.one_coefficient_problem(), strength=0.5)
    assert problem.grad(np.array([0.0]))[0] == pytest.approx(4 * 0.2)   # sign(0) = 0
    np.testing.assert_allclose(problem.prox(np.array([1.0, -0.05, 0.2]), lr=0.2),
                               [0.9, 0.0, 0.1])


# ------------------------------------------------------------ finite differences
def counting(loss):
    calls = []

    def wrapped(theta):
        calls.append(1)
        return loss(theta)
    return wrapped, calls


@pytest.mark.parametrize("shape", [(1,), (3,), (2, 3)])
def test_numerical_gradient_evaluation_counts(shape):
    d = math.prod(shape)
    theta = np.random.default_rng(0).standard_normal(shape)
    original = theta.copy()
    for method, expected in [("forward", d + 1), ("central", 2 * d)]:
        loss, calls = counting(lambda th: float((np.sin(th) * th).sum()))
        result = gd.numerical_gradient(loss, theta, method=method)
        assert len(calls) == expected == result.evaluations
        assert result.grad.shape == shape
        np.testing.assert_allclose(result.grad, np.sin(theta) + theta * np.cos(theta),
                                   rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(theta, original)   # theta is not changed


def test_numerical_gradient_error_is_first_order_forward_second_order_central():
    problem = gd.Rosenbrock()
    theta = np.array([-0.7, 1.3])
    exact = problem.grad(theta)
    hs = [1e-2, 1e-3]
    for method, order in [("forward", 1), ("central", 2)]:
        errors = [np.linalg.norm(gd.numerical_gradient(problem.loss, theta, h=h,
                                                       method=method).grad - exact)
                  for h in hs]
        slope = math.log(errors[0] / errors[1]) / math.log(hs[0] / hs[1])
        assert slope == pytest.approx(order, abs=0.1), (method, errors)


# ------------------------------------------------------------ backend and data checks
def test_to_numpy_returns_a_copy_on_every_device(device):
    torch = pytest.importorskip("torch")
    t = torch.arange(4.0, dtype=torch.float64, device=device, requires_grad=True)
    a = gd.to_numpy(t)
    assert isinstance(a, np.ndarray) and a.dtype == np.float64
    a[0] = 99.0                                   # writing to the copy ...
    assert t[0].item() == 0.0                     # ... leaves the tensor alone
    # bfloat16 has no NumPy dtype: it comes back as float32 with the same values
    half = torch.tensor([1.5, -2.0, 0.25], dtype=torch.bfloat16, device=device)
    b = gd.to_numpy(half)
    assert b.dtype == np.float32
    np.testing.assert_array_equal(b, [1.5, -2.0, 0.25])
    x = np.ones(3)
    y = gd.to_numpy(x)
    y[0] = 5.0
    assert x[0] == 1.0


def test_is_tensor_is_true_only_for_tensors():
    torch = pytest.importorskip("torch")
    from gdcore.backend import is_tensor
    assert is_tensor(torch.zeros(2)) and is_tensor(torch.nn.Parameter(torch.zeros(2)))
    for other in (torch.Size([2, 3]), torch.float64, torch.device("cpu"), np.zeros(2), 1.0,
                  [torch.zeros(1)]):
        assert not is_tensor(other), other


def test_numpy_lower_bound_allows_the_numpy_functions_gdcore_uses():
    """gdcore calls np.concat, and np.eye(..., device=...), both new in NumPy 2.0."""
    import pathlib
    import re
    import tomllib
    root = pathlib.Path(__file__).resolve().parents[1]
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    bound = next(re.fullmatch(r"numpy>=(\d+)\.(\d+)", d.replace(" ", "")) for d in deps
                 if d.startswith("numpy"))
    assert bound is not None, deps
    assert (int(bound[1]), int(bound[2])) >= (2, 0), deps


def test_penalty_exposes_the_data_but_not_the_unpenalised_answers():
    inner = gd.LinearRegression(X, Y_REAL)
    penalised = gd.L2Penalty(inner, strength=0.7)
    assert penalised.X is inner.X and penalised.y is inner.y and penalised.problem is inner
    # the wrapped problem's minimiser is not the penalised one: L2Penalty.solution is ridge's
    ridge = np.linalg.solve(inner.X.T @ inner.X / 30 + 0.7 * np.eye(4), inner.X.T @ Y_REAL / 30)
    np.testing.assert_allclose(penalised.grad(ridge), 0, atol=1e-12)
    np.testing.assert_allclose(penalised.solution(), ridge, rtol=1e-10)
    assert np.linalg.norm(penalised.grad(inner.solution())) > 0.1
    quad = gd.L1Penalty(gd.Quadratic(A_QUAD, B_QUAD), strength=0.2)
    for name in ("eigenvalues", "condition_number", "solution", "X", "y"):
        assert not hasattr(quad, name), name


def test_quadratic_built_from_tensors_keeps_numpy_copies(device):
    torch = pytest.importorskip("torch")
    A = torch.as_tensor(A_QUAD, device=device)
    b = torch.as_tensor(B_QUAD, device=device)
    quad, reference = gd.Quadratic(A, b), gd.Quadratic(A_QUAD, B_QUAD)
    assert isinstance(quad.A, np.ndarray) and isinstance(quad.b, np.ndarray)
    np.testing.assert_array_equal(quad.A, A_QUAD)
    np.testing.assert_allclose(quad.solution(), np.linalg.solve(A_QUAD, B_QUAD), rtol=1e-12)
    assert quad.condition_number == pytest.approx(20)
    theta = point(quad)
    assert quad.loss(theta) == pytest.approx(reference.loss(theta), rel=1e-14)
    theta_t = torch.as_tensor(theta, device=device)
    grad_t = quad.grad(theta_t)
    assert grad_t.device == theta_t.device
    np.testing.assert_allclose(grad_t.cpu().numpy(), reference.grad(theta), rtol=1e-12)
    # the converted copies are made once per (device, dtype) and reused
    first, second = quad._like(theta_t), quad._like(theta_t)
    assert isinstance(first, tuple) and first[0] is second[0] and first[1] is second[1]
    single = quad._like(theta_t.float())
    assert single[0].dtype == torch.float32 and single[0] is not first[0]


def test_logistic_probabilities_are_the_sigmoid():
    problem = gd.LogisticRegression(X, Y_BINARY)
    theta = point(problem)
    z = problem.X @ theta
    np.testing.assert_allclose(problem.probabilities(theta, problem.X), 1 / (1 + np.exp(-z)),
                               rtol=1e-14)


def test_logistic_accepts_integer_and_boolean_labels():
    theta = point(gd.LogisticRegression(X, Y_BINARY))
    expected = gd.LogisticRegression(X, Y_BINARY).loss(theta)
    for labels in (Y_BINARY.astype(int), Y_BINARY.astype(bool)):
        assert gd.LogisticRegression(X, labels).loss(theta) == pytest.approx(expected, rel=1e-15)


def test_standardize_is_exported_and_scales_columns():
    assert gd.standardize is gd.problems.standardize
    scaled, mean, std = gd.standardize(X)
    np.testing.assert_allclose(mean, X.mean(axis=0))
    np.testing.assert_allclose(std, X.std(axis=0))
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-15)
    np.testing.assert_allclose(scaled.std(axis=0), 1, rtol=1e-14)
