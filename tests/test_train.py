"""fit: stopping rules, divergence without warnings, sample counts and History alignment."""
import dataclasses
import warnings

import numpy as np
import pytest

import gdcore as gd

X_LIN, Y_LIN = gd.linear_data(n=50, slope=[2.0, -1.0], intercept=1.0, features=2, seed=3)


def linreg():
    return gd.LinearRegression(X_LIN, Y_LIN)


def assert_aligned(history, opt, trajectory=False):
    """Per-evaluation arrays share one length; one batch loss per update actually made."""
    n_evals = len(history.step)
    for name in ("loss", "epoch", "samples", "time"):
        assert len(getattr(history, name)) == n_evals, name
    assert len(history.trajectory) == (n_evals if trajectory else 0)
    assert history.steps_taken == len(history.batch_loss) == opt.steps
    assert history.step[0] == 0 and np.all(np.diff(history.step) > 0)
    assert np.all(np.diff(history.time) >= 0) and np.all(np.diff(history.samples) >= 0)


# ----------------------------------------------------------------- stopping rules
def test_step_budget():
    theta = np.zeros(3)
    opt = gd.SGD(theta, lr=0.05)
    history = gd.fit(linreg(), opt, steps=37, batch_size=8)
    assert history.stop_reason == "max_steps" and not history.diverged
    assert history.diverged_at is None
    assert history.steps_taken == 37 and history.step[-1] == 37
    assert_aligned(history, opt)


@pytest.mark.parametrize("batch_size, drop_last, per_epoch", [
    (None, False, 1), (1, False, 50), (8, False, 7), (8, True, 6), (50, False, 1)])
def test_epochs_and_steps(batch_size, drop_last, per_epoch):
    opt = gd.SGD(np.zeros(3), lr=0.01)
    history = gd.fit(linreg(), opt, epochs=3, batch_size=batch_size, drop_last=drop_last)
    assert history.steps_taken == 3 * per_epoch
    assert history.epoch[-1] == 3
    np.testing.assert_allclose(history.epoch, history.step / per_epoch)
    # both given: the smaller budget wins
    for steps, expected in [(2, 2), (10 * per_epoch, 3 * per_epoch)]:
        opt = gd.SGD(np.zeros(3), lr=0.01)
        history = gd.fit(linreg(), opt, steps=steps, epochs=3, batch_size=batch_size,
                         drop_last=drop_last)
        assert history.steps_taken == expected == opt.steps


def test_loss_tol_stops_at_first_evaluation_below():
    opt = gd.SGD(np.zeros(3), lr=0.1)
    history = gd.fit(linreg(), opt, steps=10_000, loss_tol=0.2)
    assert history.stop_reason == "loss_tol"
    assert history.final_loss <= 0.2 < history.loss[-2]
    assert history.steps_taken < 10_000


def test_grad_tol_stops_at_first_evaluation_below():
    problem = linreg()
    opt = gd.SGD(np.zeros(3), lr=0.1)
    history = gd.fit(problem, opt, steps=10_000, grad_tol=1e-3, record_trajectory=True)
    assert history.stop_reason == "grad_tol"
    norms = [np.linalg.norm(problem.grad(theta)) for theta in history.trajectory[-2:]]
    assert norms[1] <= 1e-3 < norms[0]
    assert_aligned(history, opt, trajectory=True)


@pytest.mark.parametrize("patience", [1, 3])
def test_patience_stops_after_that_many_evaluations_without_improvement(patience):
    # a tiny step improves the loss by far less than min_delta: no evaluation
    # after the start counts as an improvement
    opt = gd.SGD(np.zeros(3), lr=1e-6)
    history = gd.fit(linreg(), opt, steps=100, patience=patience, min_delta=0.1)
    assert history.stop_reason == "stalled"
    assert history.steps_taken == patience
    assert np.all(np.diff(history.loss) < 0)      # improving, just not by min_delta


def test_patience_resets_on_improvement():
    opt = gd.SGD(np.zeros(3), lr=0.1)
    history = gd.fit(linreg(), opt, steps=200, patience=5, min_delta=1e-12)
    assert history.stop_reason in ("max_steps", "stalled")
    # wherever it stopped, the last `patience` evaluations did not beat the best before
    # them by min_delta if it stalled; and it ran well past 5 steps either way
    assert history.steps_taken > 50
    if history.stop_reason == "stalled":
        best_before = history.loss[:-5].min()
        assert history.loss[-5:].min() >= best_before - 1e-12


def test_eval_every_records_every_kth_step_and_the_last():
    opt = gd.Adam(np.zeros(3), lr=0.05)
    history = gd.fit(linreg(), opt, steps=23, batch_size=5, eval_every=5,
                     record_trajectory=True)
    np.testing.assert_array_equal(history.step, [0, 5, 10, 15, 20, 23])
    assert_aligned(history, opt, trajectory=True)
    problem = linreg()
    for theta, loss in zip(history.trajectory, history.loss):
        assert problem.loss(theta) == loss


def test_batch_loss_is_measured_before_each_update():
    problem = linreg()
    opt = gd.Momentum(np.zeros(3), lr=0.02)
    history = gd.fit(problem, opt, steps=12, batch_size=7, order="sequential",
                     record_trajectory=True)
    assert history.steps_taken == 12
    for t in range(12):                      # sequential batches: (t m + k) mod n
        idx = (t * 7 + np.arange(7)) % 50
        assert history.batch_loss[t] == pytest.approx(problem.loss(history.trajectory[t], idx),
                                                      rel=1e-12)


# ----------------------------------------------------------------- divergence
def run_quietly(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")         # any RuntimeWarning (overflow...) fails
        return gd.fit(*args, **kwargs)


@pytest.mark.parametrize("eval_every", [1, 7])
@pytest.mark.parametrize("scale, factor", [(1.0, 1e8), (1e100, 1e300)])
def test_divergence_is_reported_without_warnings(eval_every, scale, factor):
    """Blow-up caught by the loss limit (factor 1e8) or only by overflow to inf/NaN."""
    problem = gd.Quadratic.with_condition(10, dim=3)
    theta = np.full(3, scale)
    opt = gd.SGD(theta, lr=2.5 / 10)            # alpha * lambda_max = 2.5 > 2
    history = run_quietly(problem, opt, steps=100_000, eval_every=eval_every,
                          divergence_factor=factor)
    assert history.diverged and history.stop_reason == "diverged"
    assert 0 < history.diverged_at == opt.steps < 100_000
    assert_aligned(history, opt)
    assert np.all(np.isfinite(history.batch_loss))   # only updates actually made
    assert "diverged at step" in repr(history)


def test_divergence_of_sgd_on_data_is_reported_without_warnings():
    opt = gd.SGD(np.zeros(3), lr=5.0)
    history = run_quietly(linreg(), opt, epochs=100, batch_size=4)
    assert history.diverged and history.diverged_at == opt.steps
    assert_aligned(history, opt)


def test_non_finite_start_is_divergence_at_step_zero():
    opt = gd.SGD(np.full(3, 1e200), lr=0.1)
    history = run_quietly(linreg(), opt, steps=10)
    assert history.diverged and history.diverged_at == 0 and history.steps_taken == 0


# ----------------------------------------------------------------- sample counts
@pytest.mark.parametrize("batch_size, per_step", [(1, [1]), (8, [8] * 6 + [2]), (None, [50])])
def test_samples_count_per_sample_gradient_evaluations(batch_size, per_step):
    opt = gd.SGD(np.zeros(3), lr=0.01)
    steps = 3 * len(per_step) + 1
    history = gd.fit(linreg(), opt, steps=steps, batch_size=batch_size)
    expected = np.concatenate([[0], np.cumsum([per_step[t % len(per_step)]
                                               for t in range(steps)])])
    np.testing.assert_array_equal(history.samples, expected)


def test_problem_without_data_counts_one_per_step():
    opt = gd.Adam(np.array([-1.0, 1.0]), lr=0.01)
    history = gd.fit(gd.Rosenbrock(), opt, steps=15, eval_every=4)
    np.testing.assert_array_equal(history.step, [0, 4, 8, 12, 15])
    np.testing.assert_array_equal(history.samples, history.step)
    assert np.all(np.isnan(history.epoch))
    assert_aligned(history, opt)


# ----------------------------------------------------------------- divergence limit
def test_bounded_oscillation_near_a_zero_loss_is_not_divergence():
    """J0 ~ 4e-14: a limit relative to |J0| alone (1e8 |J0| = 4e-6) would flag the
    bounded 2-cycle that lr = 0.3 > 2 / J''(1) = 0.25 settles into."""
    opt = gd.SGD(np.array([1 + 1e-7]), lr=0.3)
    history = run_quietly(gd.DoubleWell(tilt=0), opt, steps=500)
    assert not history.diverged and history.stop_reason == "max_steps"
    assert 0.05 < history.loss[-100:].max() < 1          # oscillating, far from the start


def test_divergence_limit_is_the_start_plus_a_margin_of_at_least_the_factor():
    """limit = J0 + factor * max(|J0|, 1). On J = theta^2 / 2 with lr = 2.5 the loss
    grows by (1 - 2.5)^2 = 2.25 per step: from J0 = 0.005 it first exceeds
    0.005 + 1 at step 7 (0.005 * 2.25^7 = 1.47)."""
    opt = gd.SGD(np.array([0.1]), lr=2.5)
    history = run_quietly(gd.Quadratic(np.eye(1)), opt, steps=100, divergence_factor=1.0)
    assert history.diverged_at == 7 and history.loss[-2] <= 1.005 < history.loss[-1]


def test_divergence_limit_for_a_negative_starting_loss():
    """J0 = -0.254 near the deep minimum of the tilted double well; lr = 0.3 makes GD
    oscillate with losses up to 0.30, below J0 + 1 * max(|J0|, 1) = 0.746 (a limit of
    factor * |J0| = 0.254 would call that divergence)."""
    problem = gd.DoubleWell(tilt=0.25)
    opt = gd.SGD(problem.minima()[:1] + 1e-3, lr=0.3)
    history = run_quietly(problem, opt, steps=300, divergence_factor=1.0)
    assert not history.diverged
    assert history.loss[0] < 0 and 0.25 < history.loss.max() < 0.746


# ----------------------------------------------------------------- tolerances and History
def test_loss_tol_may_be_negative():
    problem = gd.DoubleWell(tilt=0.25)          # the deep minimum has J = -0.254
    history = gd.fit(problem, gd.SGD(np.array([-0.5]), lr=0.05), steps=1000, loss_tol=-0.25)
    assert history.stop_reason == "loss_tol"
    assert history.final_loss <= -0.25 < history.loss[-2]


def test_fit_changes_the_callers_array_in_place():
    theta = np.zeros(3)
    history = gd.fit(linreg(), gd.SGD(theta, lr=0.1), steps=5, record_trajectory=True)
    np.testing.assert_array_equal(theta, history.trajectory[-1])
    assert np.any(theta != 0)


def test_diverged_is_derived_from_the_stop_reason():
    assert "diverged" not in {f.name for f in dataclasses.fields(gd.History)}
    for lr, reason in ((0.05, "max_steps"), (5.0, "diverged")):
        history = run_quietly(linreg(), gd.SGD(np.zeros(3), lr=lr), steps=200)
        assert history.stop_reason == reason
        assert history.diverged is (reason == "diverged")
