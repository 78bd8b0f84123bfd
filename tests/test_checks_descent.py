"""check_descent_loop against the typical wrong loops a learner writes: each verdict must
name the actual mistake, judged against gdcore.fit with SGD, and a loop that diverges
must be reported without RuntimeWarnings."""
import warnings

import numpy as np
import pytest

import gdcore as gd
from gdcore.checks import check_descent_loop

CASE = dict(problem=gd.Quadratic.with_condition(10), theta0=[-1.5, 1.5], lr=0.1, grad_tol=1e-3)


def reference_steps():
    theta = np.array(CASE["theta0"])
    return gd.fit(CASE["problem"], gd.SGD(theta, lr=CASE["lr"]), steps=10_000,
                  grad_tol=CASE["grad_tol"]).steps_taken


def loop_with(update, stop_before_update=True, count_from=0):
    """A gradient-norm loop built from a chosen update rule and bookkeeping."""
    def loop(problem, theta, lr, grad_tol, max_steps):
        steps = 0
        while steps < max_steps:
            g = problem.grad(theta)
            if stop_before_update and np.linalg.norm(g) <= grad_tol:
                break
            theta = update(theta, lr, g)
            steps += 1
            if not stop_before_update and np.linalg.norm(g) <= grad_tol:
                break  # tests the gradient it has just used: one update too late
        return theta, steps + count_from
    return loop


def verdict(loop, capsys, **overrides):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning fails the test
        ok = check_descent_loop(loop, **{**CASE, **overrides})
    return ok, capsys.readouterr().out


def test_the_correct_loop_passes_with_the_reference_step_count(capsys):
    ok, out = verdict(loop_with(lambda t, lr, g: t - lr * g), capsys)
    assert ok and out.startswith(f"✓ your loop stops after {reference_steps()} steps")


def test_a_sign_error_is_named_and_its_divergence_raises_no_warning(capsys):
    ok, out = verdict(loop_with(lambda t, lr, g: t + lr * g), capsys)
    assert not ok and "along the gradient, uphill: theta + lr * grad(theta)" in out
    assert "test it after every update" not in out


@pytest.mark.parametrize("rate", [0.05, 0.15])
def test_a_hard_coded_learning_rate_is_named_with_its_value(rate, capsys):
    ok, out = verdict(loop_with(lambda t, lr, g: t - rate * g), capsys)
    assert not ok and f"steps with learning rate {rate:g}, not the lr = 0.1" in out


def test_one_update_too_many_is_named(capsys):
    ok, out = verdict(loop_with(lambda t, lr, g: t - lr * g, stop_before_update=False), capsys)
    k = reference_steps()
    assert not ok and f"one update too many ({k + 1} instead of {k})" in out


@pytest.mark.parametrize("count_from", [1, -1])
def test_a_miscounted_step_number_is_named(count_from, capsys):
    ok, out = verdict(loop_with(lambda t, lr, g: t - lr * g, count_from=count_from), capsys)
    k = reference_steps()
    assert not ok and f"stops at the right point, after {k} updates, but returns steps = {k + count_from}" in out


def test_a_loop_that_ignores_max_steps_by_one_is_named(capsys):
    def loop(problem, theta, lr, grad_tol, max_steps):
        for steps in range(max_steps + 1):  # one pass too many
            g = problem.grad(theta)
            if np.linalg.norm(g) <= grad_tol:
                break
            theta = theta - lr * g
        return theta, steps
    ok, out = verdict(loop, capsys)
    assert not ok and "with max_steps = 1 your loop made 2 updates" in out


def test_a_loop_that_ignores_max_steps_is_named(capsys):
    def loop(problem, theta, lr, grad_tol, max_steps):
        steps = 0
        while np.linalg.norm(problem.grad(theta)) > grad_tol:  # no budget at all
            theta = theta - lr * problem.grad(theta)
            steps += 1
        return theta, steps
    ok, out = verdict(loop, capsys)
    assert not ok and f"with max_steps = 1 your loop made {reference_steps()} updates" in out


def test_a_loop_that_diverges_later_is_reported_without_warnings(capsys):
    """Right first update, then a rate that grows every step: it overflows to inf and nan."""
    def loop(problem, theta, lr, grad_tol, max_steps):
        for steps in range(max_steps):
            theta = theta - lr * (1 + steps) * problem.grad(theta)
        return theta, max_steps
    ok, out = verdict(loop, capsys)
    assert not ok and "your loop diverged: after 10000 steps" in out


def test_a_budget_only_loop_is_told_to_test_the_rule(capsys):
    def loop(problem, theta, lr, grad_tol, max_steps):
        for _ in range(max_steps):
            theta = theta - lr * problem.grad(theta)
        return theta, max_steps
    ok, out = verdict(loop, capsys, max_steps=500)
    assert not ok and out.endswith(f"already after {reference_steps()}: test it after every update\n")
