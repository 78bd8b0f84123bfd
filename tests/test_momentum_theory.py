"""gdcore.momentum_theory against numpy.linalg, measured runs of gdcore and torch.optim,
plus checks.check_momentum and widgets.explore_momentum (chapter 6)."""
import math
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import gdcore as gd  # noqa: E402
from gdcore import momentum_theory as mt  # noqa: E402
from gdcore.checks import check_momentum  # noqa: E402
from gdcore.widgets import explore_momentum  # noqa: E402

METHODS = [(False, gd.Momentum), (True, gd.Nesterov)]


@settings(max_examples=60, deadline=None)
@given(x=st.floats(0.01, 5.0), beta=st.floats(0.0, 0.99), nesterov=st.booleans())
def test_spectral_radius_equals_numpy_eigenvalues(x, beta, nesterov):
    matrix = mt.recurrence_matrix(2.0, x / 2.0, beta, nesterov)
    expected = np.abs(np.linalg.eigvals(matrix)).max()
    assert mt.spectral_radius(x, beta, nesterov) == pytest.approx(expected, rel=1e-7, abs=1e-7)


@pytest.mark.parametrize("nesterov, method", METHODS)
def test_recurrence_matrix_reproduces_the_optimisers(nesterov, method):
    lam, lr, beta = 3.0, 0.2, 0.6
    theta = np.array([1.0])
    optimizer = method(theta, lr=lr, beta=beta)
    state = np.array([1.0, 0.0])  # (e_0, v_{-1} = 0)
    matrix = mt.recurrence_matrix(lam, lr, beta, nesterov)
    for _ in range(25):
        optimizer.step(lam * theta)
        state = matrix @ state
        assert theta[0] == pytest.approx(state[0], rel=1e-10, abs=1e-14)


def test_spectral_radius_broadcasts_over_a_grid():
    x, beta = np.meshgrid(np.linspace(0.1, 4, 5), np.linspace(0, 0.9, 4))
    radius = mt.spectral_radius(x, beta)
    assert radius.shape == (4, 5)
    assert radius[2, 3] == pytest.approx(mt.spectral_radius(float(x[2, 3]), float(beta[2, 3])))


@pytest.mark.parametrize("nesterov, method", METHODS)
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
@pytest.mark.parametrize("factor, converges", [(0.97, True), (1.03, False)])
def test_stability_limit_separates_measured_convergence(nesterov, method, beta, factor, converges):
    lam = 4.0
    lr = factor * mt.stability_limit(beta, nesterov) / lam
    assert (mt.spectral_radius(lr * lam, beta, nesterov) < 1) is converges
    history = gd.fit(gd.Quadratic(np.array([[lam]])), method(np.array([1.0]), lr=lr, beta=beta),
                     steps=3000)
    assert history.diverged is not converges
    if converges:
        assert history.final_loss < 1e-10


def test_gd_limit_is_two():
    assert mt.stability_limit(0.0) == mt.stability_limit(0.0, nesterov=True) == 2.0


@pytest.mark.parametrize("kappa", [10, 100, 1000])
def test_optimal_parameters_give_the_closed_form_rates(kappa):
    lr, rate = mt.optimal_gd(1.0, kappa)
    assert mt.predicted_rate([1.0, kappa], lr) == pytest.approx(rate, rel=1e-12)
    assert rate == pytest.approx((kappa - 1) / (kappa + 1))
    lr, beta, rate = mt.optimal_momentum(1.0, kappa)
    assert rate == pytest.approx((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1))
    assert mt.predicted_rate([1.0, kappa], lr, beta) == pytest.approx(rate, rel=1e-6)
    # optimal: any nearby (lr, beta) is worse on the whole spectrum
    spectrum = np.linspace(1.0, kappa, 200)
    for dl, db in [(1.05, 0), (0.95, 0), (1, 1.02), (1, 0.98), (1.03, 1.01), (0.97, 0.99)]:
        assert mt.predicted_rate(spectrum, lr * dl, min(beta * db, 0.999)) > rate


def error_norms(problem, optimizer, theta, steps):
    errors = [np.linalg.norm(theta)]
    for _ in range(steps):
        optimizer.step(problem.grad(theta))
        errors.append(np.linalg.norm(theta))
    return np.array(errors)


@pytest.mark.parametrize("kappa", [10, 100, 1000])
def test_measured_rates_match_theory(kappa):
    problem = gd.Quadratic.with_condition(kappa, dim=10, seed=1)
    start = np.random.default_rng(2).standard_normal(10)
    lr, rate = mt.optimal_gd(*problem.eigenvalues[[0, -1]])
    theta = start.copy()
    errors = error_norms(problem, gd.SGD(theta, lr=lr), theta, 1500)
    assert mt.measured_rate(errors, 500, 1500) == pytest.approx(rate, rel=2e-3)
    lr, beta, rate = mt.optimal_momentum(*problem.eigenvalues[[0, -1]])
    steps = int(120 * math.log(10) / -math.log(rate))   # the error falls by about 1e-120
    theta = start.copy()
    errors = error_norms(problem, gd.Momentum(theta, lr=lr, beta=beta), theta, steps)
    # the repeated eigenvalue adds a factor (1 + c t): within 0.5% of the rate over [T/2, T]
    assert mt.measured_rate(errors, steps // 2, steps) == pytest.approx(rate, rel=5e-3)


def test_torch_sgd_contracts_at_the_predicted_rate():
    problem = gd.Quadratic.with_condition(100, dim=10, seed=1)
    lr, beta, rate = mt.optimal_momentum(*problem.eigenvalues[[0, -1]])
    A = torch.tensor(problem.A)
    theta = torch.tensor(np.random.default_rng(2).standard_normal(10), requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=lr, momentum=beta)
    errors = [theta.norm().item()]
    for _ in range(1400):
        optimizer.zero_grad()
        (theta @ A @ theta / 2).backward()
        optimizer.step()
        errors.append(theta.norm().item())
    assert mt.measured_rate(errors, 700, 1400) == pytest.approx(rate, rel=5e-3)


@pytest.mark.parametrize("x", [0.04, 0.25, 0.81])
def test_critical_damping_is_a_double_root_and_the_best_beta(x):
    beta = mt.critical_beta(x)
    eigenvalues = np.linalg.eigvals(mt.recurrence_matrix(1.0, x, beta))
    assert eigenvalues[0] == pytest.approx(eigenvalues[1], abs=1e-6)
    assert mt.spectral_radius(x, beta) == pytest.approx(1 - math.sqrt(x), rel=1e-6)
    others = np.linspace(0, 0.99, 100)
    assert (mt.spectral_radius(x, others) >= mt.spectral_radius(x, beta) - 1e-6).all()


def test_measured_rate_of_a_geometric_sequence():
    assert mt.measured_rate(0.5 ** np.arange(20.0), 3, 17) == pytest.approx(0.5)


@pytest.mark.parametrize("call, message", [
    (lambda: mt.recurrence_matrix(-1.0, 0.1, 0.5), "lam must be a positive"),
    (lambda: mt.recurrence_matrix(1.0, 0.0, 0.5), "lr must be a positive"),
    (lambda: mt.spectral_radius(1.0, 1.0), "beta must lie in [0, 1)"),
    (lambda: mt.spectral_radius([1.0, -2.0], 0.5), "lr_times_lam must be positive"),
    (lambda: mt.predicted_rate([0.0, 1.0], 0.1), "eigenvalues must be positive"),
    (lambda: mt.stability_limit(-0.1), "beta must lie in [0, 1)"),
    (lambda: mt.optimal_gd(2.0, 1.0), "lambda_max must be >= lambda_min"),
    (lambda: mt.optimal_momentum(0.0, 1.0), "lambda_min must be a positive"),
    (lambda: mt.critical_beta(1.5), "lr_times_lam must be <= 1"),
    (lambda: mt.measured_rate([1.0, 0.5], 1, 1), "start and stop must satisfy"),
    (lambda: mt.measured_rate([1.0, 0.5, 0.0], 0, 2), "must be finite and above 1e-150"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


# ------------------------------------------------------------- check_momentum
def heavy_ball(grad, theta, lr, beta, steps, damped=False, keep=True):
    v, path = np.zeros_like(theta), [theta.copy()]
    for _ in range(steps):
        g = grad(theta)
        v = (beta * v if keep else 0) + ((1 - beta) * g if damped else g)
        theta = theta - lr * v
        path.append(theta.copy())
    return np.array(path)


def stale_velocity(grad, theta, lr, beta, steps):
    """Steps with the old velocity, then updates it: the first step does not move."""
    v, path = np.zeros_like(theta), [theta.copy()]
    for _ in range(steps):
        g = grad(theta)
        theta = theta - lr * v
        v = beta * v + g
        path.append(theta.copy())
    return np.array(path)


def nesterov_steps(grad, theta, lr, beta, steps):
    v, path = np.zeros_like(theta), [theta.copy()]
    for _ in range(steps):
        g = grad(theta)
        v = beta * v + g
        theta = theta - lr * (g + beta * v)
        path.append(theta.copy())
    return np.array(path)


def test_check_momentum_accepts_the_heavy_ball(capsys):
    assert check_momentum(heavy_ball) is True
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("fn, message", [
    (lambda *a: heavy_ball(*a, damped=True), "damped form"),
    (lambda *a: heavy_ball(*a, keep=False), "plain gradient descent"),
    (lambda *a: heavy_ball(*a)[-1], "returned shape (2,)"),
    (lambda *a: heavy_ball(*a) + 1e-3, "first differ at step 0"),
    (lambda *a: 1 / 0, "raised ZeroDivisionError"),
    (stale_velocity, "your first step did not move"),
    (nesterov_steps, "Nesterov's step"),
])
def test_check_momentum_names_the_slip(fn, message, capsys):
    assert check_momentum(fn) is False
    assert message in capsys.readouterr().out


# ------------------------------------------------------------- explore_momentum
def test_explore_momentum_redraws_and_predicts():
    plt.close("all")
    problem = gd.Quadratic.with_condition(20)
    box = explore_momentum(problem, lr=0.02, beta=0.8, steps=30)
    _, beta_slider, nesterov_box, _ = box.children
    legend = [t.get_text() for t in plt.gcf().axes[1].get_legend().get_texts()]
    expected = mt.predicted_rate(problem.eigenvalues, 0.02, 0.8)
    assert legend[1] == f"heavy ball, β = 0.80: predicted rate {expected:.3f}"
    nesterov_box.value = True
    legend = [t.get_text() for t in plt.gcf().axes[1].get_legend().get_texts()]
    assert legend[1].startswith("Nesterov, β = 0.80")
    beta_slider.value = 0.99
    box.children[0].value = 1.0   # alpha * lambda_max = 20: far past every limit
    legend = [t.get_text() for t in plt.gcf().axes[1].get_legend().get_texts()]
    assert all("diverged at step" in text for text in legend)
    plt.close("all")


def test_explore_momentum_refuses_other_problems():
    with pytest.raises(ValueError, match="problem must be a gdcore.Quadratic"):
        explore_momentum(gd.Rosenbrock())
