"""Convergence rates on quadratics, measured against the theory.

On J(theta) = theta' A theta / 2 with eigenvalues lambda_1 <= ... <= lambda_n
(kappa = lambda_n / lambda_1), gradient descent with the optimal step
alpha* = 2 / (lambda_1 + lambda_n) contracts the error by (kappa - 1)/(kappa + 1)
per step, and heavy-ball momentum with its optimal (alpha, beta) by
(sqrt(kappa) - 1)/(sqrt(kappa) + 1). The measured rate is the geometric mean
of ||theta_{t+1} - theta*|| / ||theta_t - theta*|| over a late window.

The minimiser is theta* = 0 (b = 0), so the iteration is linear and
homogeneous: rounding errors stay relative to the current error, which can
shrink to 1e-100 and below without reaching a rounding floor. The windows
below end where the error is still far above the underflow threshold.
"""
import math

import numpy as np
import pytest

import gdcore as gd

KAPPAS = [10, 100, 1000]
DIM = 10


def quadratic(kappa):
    return gd.Quadratic.with_condition(kappa, dim=DIM, seed=1)


def start():
    return np.random.default_rng(2).standard_normal(DIM)


def error_norms(problem, make_opt, steps):
    theta = start()
    opt = make_opt(theta)
    theta_star = problem.solution()
    errors = [np.linalg.norm(theta - theta_star)]
    for _ in range(steps):
        opt.step(problem.grad(theta))
        errors.append(np.linalg.norm(theta - theta_star))
    return np.array(errors)


def measured_rate(errors, t0, t1):
    assert errors[t1] > 1e-250, "the window reaches underflow"
    return (errors[t1] / errors[t0]) ** (1 / (t1 - t0))


@pytest.mark.parametrize("kappa", KAPPAS)
def test_gd_with_optimal_step_contracts_at_kappa_rate(kappa):
    problem = quadratic(kappa)
    l1, ln = problem.eigenvalues[0], problem.eigenvalues[-1]
    assert math.isclose(problem.condition_number, kappa)
    rho = (kappa - 1) / (kappa + 1)
    # start after 3 decades (the inner eigen-directions, which contract
    # faster, are then negligible) and measure over the next 10 decades
    decade = math.log(10) / -math.log(rho)
    t0 = math.ceil(3 * decade)
    t1 = t0 + math.ceil(10 * decade)
    errors = error_norms(problem, lambda th: gd.SGD(th, lr=2 / (l1 + ln)), t1)
    rate = measured_rate(errors, t0, t1)
    assert rate == pytest.approx(rho, rel=0.02)
    # GD has no polynomial factor, so even the decay exponent -log(rate),
    # a far more sensitive measure when kappa is large, matches
    assert math.log(rate) == pytest.approx(math.log(rho), rel=0.02)


@pytest.mark.parametrize("kappa", KAPPAS)
def test_heavy_ball_with_optimal_parameters_contracts_at_sqrt_kappa_rate(kappa):
    problem = quadratic(kappa)
    s1, sn = math.sqrt(problem.eigenvalues[0]), math.sqrt(problem.eigenvalues[-1])
    alpha = (2 / (s1 + sn)) ** 2
    beta = ((sn - s1) / (sn + s1)) ** 2
    rho = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    # At these parameters the extreme modes are Jordan blocks: with v_0 = 0 the
    # error along them is (1 + c t) (+-rho)^t with c = 1 - rho or 1 + rho. The
    # window [t0, 2 t0] keeps that polynomial factor's effect on the geometric
    # mean below 0.5% for either c.
    t0, t1 = 200, 400
    for c in (1 - rho, 1 + rho):
        factor = ((1 + c * t1) / (1 + c * t0)) ** (1 / (t1 - t0))
        assert factor - 1 < 0.005
    errors = error_norms(problem, lambda th: gd.Momentum(th, lr=alpha, beta=beta), t1)
    rate = measured_rate(errors, t0, t1)
    assert rate == pytest.approx(rho, rel=0.02)
    # and it is genuinely faster than the best plain GD rate
    assert rate < (kappa - 1) / (kappa + 1) - 0.02


@pytest.mark.parametrize("kappa", [10, 100])
@pytest.mark.parametrize("factor, diverges", [(0.95, False), (1.05, True)])
def test_gd_is_stable_exactly_for_step_below_two_over_lambda_max(kappa, factor, diverges):
    problem = quadratic(kappa)
    lr = factor * 2 / problem.eigenvalues[-1]
    theta = start()
    history = gd.fit(problem, gd.SGD(theta, lr=lr), steps=20 * kappa)
    assert history.diverged is diverges
    if diverges:
        assert history.stop_reason == "diverged" and history.diverged_at is not None
    else:
        assert history.final_loss < 1e-8 * history.loss[0]


@pytest.mark.parametrize("beta", [0.3, 0.8])
@pytest.mark.parametrize("factor, diverges", [(0.95, False), (1.05, True)])
def test_momentum_is_stable_exactly_for_step_below_two_plus_two_beta(beta, factor, diverges):
    problem = quadratic(10)
    lr = factor * (2 + 2 * beta) / problem.eigenvalues[-1]
    assert lr * problem.eigenvalues[-1] > 2  # beyond plain GD's limit either way
    theta = start()
    history = gd.fit(problem, gd.Momentum(theta, lr=lr, beta=beta), steps=3000)
    assert history.diverged is diverges
    if not diverges:
        assert history.final_loss < 1e-8 * history.loss[0]
