"""Tests for what chapter 2 added to gdcore: Saddle, DoubleWell(dim=...),
widgets.explore_gradient_descent, checks.check_descent_loop and the
message of checks.check_gradient."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import gdcore as gd  # noqa: E402
from gdcore.checks import check_descent_loop  # noqa: E402
from gdcore.widgets import explore_gradient_descent  # noqa: E402


def autograd_gradient(problem, theta):
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    problem.loss(t).backward()
    return t.grad.numpy()


# ---------------------------------------------------------------- Saddle
@pytest.mark.parametrize("theta", [[0.3, -1.2], [1.5, 0.7], [-2.0, 2.5]])
def test_saddle_gradient_matches_finite_differences_and_autograd(theta):
    problem = gd.Saddle()
    theta = np.array(theta)
    analytic = problem.grad(theta)
    np.testing.assert_allclose(analytic, gd.numerical_gradient(problem.loss, theta).grad,
                               rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(analytic, autograd_gradient(problem, theta), rtol=1e-12)


def test_saddle_values_at_its_stationary_points():
    problem = gd.Saddle()
    assert problem.loss(np.array([1.0, 2.0])) == pytest.approx(1 - 4 + 4)
    np.testing.assert_array_equal(problem.grad(np.zeros(2)), [0.0, 0.0])
    for m in problem.minima():
        assert problem.loss(m) == pytest.approx(-1.0)
        np.testing.assert_allclose(problem.grad(m), [0.0, 0.0], atol=1e-12)


def test_gradient_descent_on_the_stable_manifold_stops_at_the_saddle_and_a_nudge_escapes():
    problem = gd.Saddle()
    on_line = np.array([1.5, 0.0])
    gd.fit(problem, gd.SGD(on_line, lr=0.1), steps=300)
    np.testing.assert_allclose(on_line, [0.0, 0.0], atol=1e-12)
    nudged = np.array([1.5, 1e-6])
    gd.fit(problem, gd.SGD(nudged, lr=0.1), steps=300)
    np.testing.assert_allclose(nudged, [0.0, np.sqrt(2)], atol=1e-8)


# ------------------------------------------------------ DoubleWell(dim=...)
def test_double_well_default_is_the_one_dimensional_well():
    problem = gd.DoubleWell(tilt=0.25)
    assert problem.shape == (1,)
    assert problem.loss(np.array([0.5])) == pytest.approx((0.25 - 1) ** 2 + 0.125)
    deep, shallow = problem.minima()
    assert deep == pytest.approx(-1.0298959, abs=1e-6)
    assert shallow == pytest.approx(0.9671489, abs=1e-6)


def test_double_well_in_several_dimensions_is_a_sum_of_wells():
    problem, one = gd.DoubleWell(tilt=0.25, dim=3), gd.DoubleWell(tilt=0.25)
    theta = np.array([0.4, -1.3, 2.0])
    assert problem.loss(theta) == pytest.approx(sum(one.loss(theta[i:i + 1]) for i in range(3)))
    np.testing.assert_allclose(problem.grad(theta), gd.numerical_gradient(problem.loss, theta).grad,
                               rtol=1e-7)
    np.testing.assert_allclose(problem.grad(theta), autograd_gradient(problem, theta), rtol=1e-12)


def test_double_well_rejects_a_bad_dim():
    with pytest.raises(ValueError, match="dim must be an integer >= 1"):
        gd.DoubleWell(dim=0)


# ---------------------------------------------------- explore_gradient_descent
def current_title_and_path():
    ax = plt.gcf().axes[0]
    path = ax.lines[0].get_xydata().copy()
    return ax.get_title(), path


def test_explorer_redraws_when_a_slider_moves():
    plt.close("all")
    box = explore_gradient_descent(gd.Quadratic.with_condition(10), lr=0.01, steps=20)
    lr_slider, x_slider = box.children[0], box.children[1]
    title, path = current_title_and_path()
    assert title.startswith("learning rate 0.01: loss")
    assert path.shape == (21, 2)
    np.testing.assert_allclose(path[0], [-1.5, 1.5])

    lr_slider.value = 0.1
    new_title, new_path = current_title_and_path()
    assert new_title.startswith("learning rate 0.1: loss") and new_title != title
    assert not np.allclose(new_path, path)

    x_slider.value = 1.0
    np.testing.assert_allclose(current_title_and_path()[1][0], [1.0, 1.5])

    lr_slider.value = 1.0  # far above 2 / L = 0.2
    assert "diverged at step" in current_title_and_path()[0]

    lr_slider.value = 0.21  # above 2 / L = 0.2, but 20 steps do not reach the divergence limit
    history = gd.fit(gd.Quadratic.with_condition(10), gd.SGD(np.array([1.0, 1.5]), lr=0.21), steps=20)
    assert not history.diverged and history.final_loss > history.loss[0]
    assert current_title_and_path()[0].startswith("learning rate 0.21: growing: loss")
    plt.close("all")


# ------------------------------------------------------ check_descent_loop
def correct_loop(problem, theta, lr, grad_tol, max_steps):
    steps = 0
    g = problem.grad(theta)
    while np.linalg.norm(g) > grad_tol and steps < max_steps:
        theta -= lr * g
        steps += 1
        g = problem.grad(theta)
    return theta, steps


def budget_only_loop(problem, theta, lr, grad_tol, max_steps):
    for _ in range(max_steps):
        theta -= lr * problem.grad(theta)
    return theta, max_steps


def early_stop_loop(problem, theta, lr, grad_tol, max_steps):
    steps = 0
    while np.linalg.norm(problem.grad(theta)) > grad_tol and steps < min(5, max_steps):
        theta -= lr * problem.grad(theta)
        steps += 1
    return theta, steps


CASE = dict(problem=gd.Quadratic.with_condition(10), theta0=[-1.5, 1.5], lr=0.1, grad_tol=1e-3)


def test_check_descent_loop_accepts_a_correct_loop(capsys):
    assert check_descent_loop(correct_loop, **CASE)
    assert capsys.readouterr().out.startswith("✓ your loop stops after 68 steps")


def test_check_descent_loop_explains_a_loop_without_the_rule(capsys):
    assert not check_descent_loop(budget_only_loop, **CASE, max_steps=500)
    assert capsys.readouterr().out == ("✗ your loop made 500 steps, but the gradient norm is "
                                       "<= grad_tol = 0.001 already after 68: test it after every update\n")


def test_check_descent_loop_explains_an_early_stop(capsys):
    assert not check_descent_loop(early_stop_loop, **CASE)
    assert "stopped after 5 steps while the gradient norm was still" in capsys.readouterr().out


def test_check_descent_loop_reports_an_exception_and_a_bad_start(capsys):
    assert not check_descent_loop(lambda *args: None, **CASE)
    assert "your loop raised TypeError" in capsys.readouterr().out
    with pytest.raises(ValueError, match="theta0 already has a gradient norm"):
        check_descent_loop(correct_loop, **{**CASE, "theta0": [0.0, 0.0]})


@pytest.mark.parametrize("steps", [None, "3", 3.0, True])
def test_check_descent_loop_explains_a_steps_count_that_is_not_an_integer(steps, capsys):
    def loop(problem, theta, lr, grad_tol, max_steps):
        theta, _ = correct_loop(problem, theta, lr, grad_tol, max_steps)
        return theta, steps
    assert check_descent_loop(loop, **CASE) is False
    assert capsys.readouterr().out.startswith(f"✗ your loop returned steps = {steps!r} "
                                              f"({type(steps).__name__}); it should be the number")


def test_check_descent_loop_rejects_a_learning_rate_that_diverges():
    with pytest.raises(ValueError, match=r"^lr = 1\.0 makes gradient descent diverge"):
        check_descent_loop(correct_loop, **{**CASE, "lr": 1.0})  # lambda_max = 10: 2/10 < 1


# ----------------------------------------------------------- contour_paths
def test_log_contour_levels_cover_losses_at_and_below_zero():
    """The saddle's loss is negative over half the window: every level must lie
    in [Z.min(), Z.max()], geometrically spaced above Z.min() from 1/1000 of the range."""
    plt.close("all")
    problem = gd.Saddle()
    ax = gd.plots.contour_paths(problem, xlim=(-1.5, 1.5), ylim=(-1.5, 1.5), levels=12)
    _, _, Z = gd.plots.loss_grid(problem, (-1.5, 1.5), (-1.5, 1.5))
    levels = ax.collections[0].levels
    assert Z.min() < 0 and levels[0] < 0 < levels[-1]
    assert levels[-1] == pytest.approx(Z.max())
    np.testing.assert_allclose(np.diff(np.log(levels - Z.min())), np.log(1e3) / 11)
    plt.close("all")


def test_contour_paths_takes_one_path_as_an_array():
    plt.close("all")
    path = np.array([[-1.0, 1.0], [-0.5, 0.5], [0.0, 0.1]])
    one = gd.plots.contour_paths(gd.Quadratic(np.eye(2)), path)
    np.testing.assert_array_equal(one.lines[0].get_xydata(), path)
    assert len(one.lines) == 3                      # the path, its start and its end
    several = gd.plots.contour_paths(gd.Quadratic(np.eye(2)), [path, path[::-1]])
    assert len(several.lines) == 6
    plt.close("all")


# ------------------------------------------------------ check_gradient
def slipped_gradient(theta):  # d/d theta_2 of theta_1^2 theta_2 + e^theta_2 without the e^theta_2
    return np.array([2 * theta[0] * theta[1], theta[0] ** 2])


def exercise_loss(theta):
    return theta[0] ** 2 * theta[1] + np.exp(theta[1])


def test_check_gradient_names_the_wrong_entry_by_index_and_position(capsys):
    assert not gd.checks.check_gradient(slipped_gradient, exercise_loss, np.array([1.5, -0.5]))
    assert capsys.readouterr().out == ("✗ your gradient differs from the finite difference at index 1 "
                                       "(the 2nd coordinate): yours 2.25, finite difference 2.85653\n")


@pytest.mark.parametrize("k, ordinal", [(0, "1st"), (2, "3rd"), (10, "11th"), (21, "22nd")])
def test_check_gradient_counts_positions_from_one(capsys, k, ordinal):
    theta = np.linspace(0.1, 1.0, 25)
    wrong = lambda t: 2 * t + (np.arange(t.size) == k)  # noqa: E731  (J = sum t^2, one entry off)
    assert not gd.checks.check_gradient(wrong, lambda t: (t ** 2).sum(), theta)
    assert f"at index {k} (the {ordinal} coordinate)" in capsys.readouterr().out


def test_check_gradient_accepts_the_right_gradient_and_names_a_matrix_entry(capsys):
    right = lambda t: np.array([2 * t[0] * t[1], t[0] ** 2 + np.exp(t[1])])  # noqa: E731
    assert gd.checks.check_gradient(right, exercise_loss, np.array([1.5, -0.5]))
    assert capsys.readouterr().out.startswith("✓ your gradient matches")
    matrix = np.arange(1.0, 7.0).reshape(2, 3)
    assert not gd.checks.check_gradient(lambda t: 2 * t * (t != 5.0), lambda t: (t ** 2).sum(), matrix)
    assert "at index (1, 1):" in capsys.readouterr().out
