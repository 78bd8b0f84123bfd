"""Chapter 5 helpers: the growing exponential schedule, the learning-rate range test,
schedule plots, the schedule self-check and the schedule explorer."""
import math
import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import gdcore as gd  # noqa: E402
from gdcore import checks, plots, schedules, widgets  # noqa: E402
from gdcore.train import RangeTest  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def regression():
    X, y = gd.linear_data(n=200, slope=[2.0, -1.0], intercept=1.0, noise=0.5, features=2, seed=0)
    return gd.LinearRegression(X, y)


# ------------------------------------------------------------- exponential schedule
def test_exponential_grows_for_gamma_above_one():
    assert np.allclose(schedules.exponential(1e-3, 10.0).values(4), [1e-3, 1e-2, 1e-1, 1.0])


@pytest.mark.parametrize("gamma", [0, -0.5, math.inf])
def test_exponential_rejects_non_positive_gamma(gamma):
    with pytest.raises(ValueError, match="gamma must be a positive finite number"):
        schedules.exponential(0.1, gamma)


# ------------------------------------------------------------------ range test
def test_range_test_rates_are_geometric_from_lr_min_to_lr_max():
    problem = gd.Quadratic.with_condition(1.0)  # curvature 1: stable for every lr below 2
    result = gd.lr_range_test(problem, gd.SGD, lr_min=1e-3, lr_max=1.0, steps=31,
                              theta0=[1.0, -1.0])
    assert not result.history.diverged
    assert np.allclose(result.lr, np.geomspace(1e-3, 1.0, 31))


def test_range_test_is_fit_with_an_exponential_schedule():
    problem = regression()
    result = gd.lr_range_test(problem, gd.SGD, lr_min=1e-3, lr_max=0.5, steps=40, batch_size=10,
                              seed=3)
    theta = np.zeros(problem.shape)
    reference = gd.fit(problem, gd.SGD(theta, lr=schedules.exponential(1e-3, 500 ** (1 / 39))),
                       steps=40, batch_size=10, seed=3)
    assert np.allclose(result.batch_loss, reference.batch_loss)
    average, expected = 0.0, []
    for t, loss in enumerate(reference.batch_loss):
        average = 0.9 * average + 0.1 * loss
        expected.append(average / (1 - 0.9 ** (t + 1)))
    assert np.allclose(result.smoothed, expected)


def test_range_test_stops_at_divergence_and_finds_the_edge():
    problem = gd.Quadratic.with_condition(1.0)  # plain GD diverges for lr > 2
    result = gd.lr_range_test(problem, gd.SGD, lr_min=1e-3, lr_max=100.0, steps=100,
                              theta0=[1.0, 1.0])
    assert result.history.diverged
    assert len(result.lr) == len(result.batch_loss) == len(result.smoothed) < 100
    # with curvature 1 each step multiplies the error by |1 - lr|: the loss falls until lr = 2
    assert 1.5 < result.lr[np.argmin(result.batch_loss)] < 2.5
    assert result.batch_loss[-1] > result.batch_loss[0] * 1e4
    assert result.lr_steepest < 2.0 < result.lr_at_minimum


def test_lr_steepest_skips_the_smoothing_warm_up():
    lr = np.geomspace(1e-3, 1.0, 40)
    smoothed = np.linspace(2.0, 1.0, 40) ** 2
    smoothed[1] = 0.5 * smoothed[0]     # a steep drop inside the first 1/(1 - 0.9) = 10 steps
    smoothed[25] = 0.6 * smoothed[24]   # the steepest fall after them
    smoothed[26:] = np.linspace(smoothed[25] - 0.01, 0.2, 14)
    smoothed[-1] = 5.0
    result = RangeTest(lr, smoothed, smoothed, 0.9, None)
    assert result.lr_at_minimum == pytest.approx(lr[38])
    assert result.lr_steepest in (pytest.approx(lr[24]), pytest.approx(lr[25]))


@pytest.mark.parametrize("kwargs, message", [
    ({"lr_min": 1.0, "lr_max": 0.1}, "lr_max must exceed lr_min"),
    ({"steps": 1}, "steps must be at least 2"),
    ({"smoothing": 1.0}, "smoothing must lie in"),
])
def test_range_test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gd.lr_range_test(regression(), gd.SGD, **kwargs)


def test_range_test_rejects_a_loss_that_is_not_positive():
    """The double well's deep minimum has J = -0.254: log(loss) has no meaning there."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")       # no RuntimeWarning from log(<= 0) either
        with pytest.raises(ValueError, match=r"^problem: the range test reads log\(loss\); "
                                             r"losses must be > 0"):
            gd.lr_range_test(gd.DoubleWell(), gd.SGD, lr_min=1e-3, lr_max=0.1, steps=20,
                             theta0=[-1.0])


def test_range_test_from_a_non_finite_start_says_so():
    with pytest.raises(ValueError, match="^theta0: the loss or its gradient is not finite"):
        gd.lr_range_test(gd.Quadratic.with_condition(1.0), gd.SGD, theta0=[1e200, 1e200])


def test_range_test_rates_and_losses_stay_aligned_when_the_run_diverges():
    problem = gd.Quadratic.with_condition(1.0)
    result = gd.lr_range_test(problem, gd.SGD, lr_min=1e-2, lr_max=1e3, steps=60,
                              theta0=[1.0, 1.0])
    assert result.history.diverged
    np.testing.assert_array_equal(result.batch_loss, result.history.batch_loss)
    np.testing.assert_allclose(result.lr, np.geomspace(1e-2, 1e3, 60)[:len(result.batch_loss)])


# ------------------------------------------------------------------------ plots
def test_schedule_curves_draws_one_labelled_line_per_schedule():
    drawn = {"constant": schedules.constant(0.1), "cosine": schedules.cosine(0.1, 50)}
    ax = plots.schedule_curves(drawn, 50, log=True)
    assert [line.get_label() for line in ax.lines] == ["constant", "cosine"]
    assert np.allclose(ax.lines[1].get_ydata(), schedules.cosine(0.1, 50).values(50))
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["constant", "cosine"]


def test_schedule_curves_keeps_a_schedules_style_in_every_figure():
    styles = {"cosine": {"color": "C3", "ls": "--"}}
    drawn = {"constant": schedules.constant(0.1), "cosine": schedules.cosine(0.1, 50)}
    first = plots.schedule_curves(drawn, 50, styles=styles)
    second = plots.schedule_curves({"cosine": drawn["cosine"]}, 50, styles=styles)
    for line in (first.lines[1], second.lines[0]):  # same look whatever comes before it
        assert matplotlib.colors.to_hex(line.get_color()) == matplotlib.colors.to_hex("C3")
        assert line.get_linestyle() == "--"
    assert first.lines[0].get_linestyle() == "-"  # labels without a style keep the defaults


def test_range_test_curve_marks_both_suggestions():
    result = gd.lr_range_test(regression(), gd.SGD, lr_min=1e-4, lr_max=10.0, steps=60,
                              batch_size=10)
    ax = plots.range_test_curve(result)
    assert len(ax.lines) == 4
    assert np.allclose(ax.lines[1].get_ydata(), result.smoothed)
    assert ax.lines[2].get_xdata()[0] == pytest.approx(result.lr_steepest)
    assert ax.lines[3].get_label() == f"lowest point: lr = {result.lr_at_minimum:.3g}"
    assert ax.get_xscale() == ax.get_yscale() == "log"


# ----------------------------------------------------------------------- checks
def test_check_schedule_accepts_a_correct_schedule(capsys):
    reference = schedules.cosine(0.1, 50)

    def mine(t):
        return 0.05 * (1 + math.cos(math.pi * min(t, 50) / 50))
    assert checks.check_schedule(mine, reference, steps=80) is True
    assert capsys.readouterr().out.startswith("✓ your schedule matches the reference at all 80 steps")


def test_check_schedule_names_the_first_differing_step(capsys):
    def missing_half(t):
        return 0.1 * math.cos(math.pi * min(t, 50) / 50)
    assert checks.check_schedule(missing_half, schedules.cosine(0.1, 50), steps=60) is False
    out = capsys.readouterr().out
    assert out.startswith("✗ your schedule first differs at step 1: yours 0.0998027, reference 0.0999013")
    assert "turns negative at step 26" in out


def test_check_schedule_spots_a_one_step_shift(capsys):
    reference = schedules.exponential(0.1, 0.9)
    assert checks.check_schedule(lambda t: 0.1 * 0.9 ** (t - 1), reference, steps=20) is False
    assert "first differs at step 0" in capsys.readouterr().out
    assert checks.check_schedule(lambda t: 0.1 * 0.9 ** max(t - 1, 0), reference, steps=20) is False
    assert "runs one step late" in capsys.readouterr().out


def test_check_schedule_reports_an_exception(capsys):
    assert checks.check_schedule(lambda t: 1 / t, schedules.constant(1.0)) is False
    assert "your schedule raised ZeroDivisionError at step 0" in capsys.readouterr().out


@pytest.mark.parametrize("value, described", [
    (None, "returned None (NoneType) at step 0"),
    (np.array([0.1]), "returned array([0.1]) (ndarray of shape (1,)) at step 0"),
    ([0.1], "returned [0.1] (list of shape (1,)) at step 0"),
    ("0.1", "returned '0.1' (str) at step 0"),
    (True, "returned True (bool) at step 0"),
])
def test_check_schedule_names_a_return_value_that_is_not_one_number(value, described, capsys):
    # the same verdict on every NumPy version: float(np.array([0.1])) is deprecated, and
    # the check must not blame the learner for its own float() of None
    assert checks.check_schedule(lambda t: value, schedules.constant(0.1), steps=5) is False
    out = capsys.readouterr().out
    assert out.startswith("✗ your schedule " + described)
    assert "one number" in out and "TypeError" not in out


@pytest.mark.parametrize("value", [np.float32(0.1), np.float64(0.1), np.array(0.1), 0.1])
def test_check_schedule_accepts_python_and_numpy_scalars(value, capsys):
    assert checks.check_schedule(lambda t: value, schedules.constant(0.1), steps=5) is True


# ------------------------------------------------------- Polyak-Ruppert averaging
@pytest.mark.parametrize("average_from, eval_every", [(0, 1), (7, 1), (7, 5), (40, 3)])
def test_fit_average_is_the_mean_of_the_iterates_since_average_from(average_from, eval_every):
    problem = regression()
    every = gd.fit(problem, gd.SGD(np.zeros(3), lr=0.05), steps=30, batch_size=4, seed=1,
                   record_trajectory=True)  # the iterate after every step, as reference
    h = gd.fit(problem, gd.SGD(np.zeros(3), lr=0.05), steps=30, batch_size=4, seed=1,
               eval_every=eval_every, average_from=average_from)
    expected = [every.trajectory[t] if t < average_from else
                every.trajectory[average_from:t + 1].mean(axis=0) for t in h.step]
    assert h.average.shape == (len(h.step), 3)
    assert np.allclose(h.average, expected, rtol=0, atol=1e-12)
    # averaging only observes: the run itself is unchanged
    assert np.array_equal(h.loss, every.loss[h.step])


def test_averaging_beats_the_last_iterate_in_the_noise_ball():
    # constant-rate SGD ends in a noise ball; the mean of its iterates lies much closer
    # to the optimum (Polyak and Juditsky 1992), here in every one of five seeds
    problem = regression()
    best = problem.solution()
    for seed in range(5):
        theta = np.zeros(3)  # fit leaves the last iterate here
        h = gd.fit(problem, gd.SGD(theta, lr=0.1), steps=3000, batch_size=1, seed=seed,
                   eval_every=3000, average_from=1000)
        assert np.linalg.norm(h.average[-1] - best) < np.linalg.norm(theta - best) / 3


@pytest.mark.parametrize("value", [-1, 1.5, True, "0"])
def test_fit_rejects_a_bad_average_from(value):
    theta = np.zeros(3)
    with pytest.raises(ValueError, match=r"average_from must be an integer >= 0"):
        gd.fit(regression(), gd.SGD(theta, lr=0.1), steps=3, average_from=value)
    assert np.array_equal(theta, np.zeros(3))


# ---------------------------------------------------------------------- widgets
@pytest.mark.parametrize("name", list(schedules.SCHEDULES))
def test_schedule_ending_at_reaches_the_ratio_at_the_last_step(name):
    values = widgets._schedule_ending_at(name, 0.2, 60, 0.05).values(60)
    assert values[0] == pytest.approx(0.2)
    assert values[-1] == pytest.approx(0.2 if name == "constant" else 0.01)


@pytest.mark.parametrize("steps", range(4, 14))
@pytest.mark.parametrize("name", list(schedules.SCHEDULES))
def test_schedule_ending_at_reaches_the_ratio_for_every_run_length(name, steps):
    values = widgets._schedule_ending_at(name, 0.2, steps, 0.05).values(steps)
    assert values[-1] == pytest.approx(0.2 if name == "constant" else 0.01, rel=1e-12)


def test_schedule_ending_at_adds_the_warm_up():
    warm = widgets._schedule_ending_at("cosine", 0.2, 40, 0.05, warmup_steps=5).values(40)
    assert warm[0] == pytest.approx(0.2 / 5) and warm[-1] == pytest.approx(0.01)


def test_explore_schedules_accepts_a_numpy_integer_step_count():
    box = widgets.explore_schedules(regression(), lr=0.1, steps=np.int64(12), batch_size=20)
    assert len(plt.gcf().axes[0].lines[1].get_ydata()) == 12
    assert box.children[3].max == 6


def test_explore_schedules_redraws_when_a_control_changes():
    box = widgets.explore_schedules(regression(), lr=0.1, steps=40, batch_size=20)
    schedule, lr, final_ratio, warmup_steps, constant_lr, _ = box.children

    def drawn():
        left, right = plt.gcf().axes
        return left.lines[1].get_ydata(), right.lines[1].get_ydata(), right.get_title()

    rates, losses, title = drawn()
    assert np.allclose(rates, widgets._schedule_ending_at("cosine", 0.1, 40, 0.01).values(40))
    schedule.value = "step"
    new_rates, new_losses, new_title = drawn()
    assert np.allclose(new_rates, widgets._schedule_ending_at("step", 0.1, 40, 0.01).values(40))
    assert not np.allclose(new_losses, losses) and new_title != title
    warmup_steps.value = 10
    assert drawn()[0][0] == pytest.approx(0.1 / 10)
    constant_lr.value = 10 ** 0.0                      # a diverging baseline is reported
    assert plt.gcf().axes[1].get_title().startswith("mean loss, last tenth of the steps: diverged")


def late_loss(problem, lr, steps, batch_size):
    h = gd.fit(problem, gd.SGD(np.zeros(3), lr=lr), steps=steps, batch_size=batch_size, seed=0)
    return np.inf if h.diverged else np.mean(h.loss[-(len(h.loss) // 10):])


def test_explore_schedules_compares_with_the_best_constant_rate_not_the_start_rate():
    problem = regression()
    box = widgets.explore_schedules(problem, lr=0.5, steps=40, batch_size=20)
    constant_lr = box.children[4]
    grid = 1e-3 * 2.0 ** np.arange(10)                 # 0.001 .. 0.512 within (1e-3, 1)
    scores = [late_loss(problem, rate, 40, 20) for rate in grid]
    assert constant_lr.value == pytest.approx(grid[int(np.argmin(scores))])
    assert constant_lr.value != 0.5
    left = plt.gcf().axes[0]
    assert np.allclose(left.lines[0].get_ydata(), constant_lr.value)
    assert "best of the grid for 40 steps" in left.lines[0].get_label()


def test_explore_schedules_baseline_has_its_own_slider():
    box = widgets.explore_schedules(regression(), lr=0.1, steps=40, batch_size=20)
    schedule, lr, final_ratio, warmup_steps, constant_lr, _ = box.children
    baseline = constant_lr.value
    lr.value = 10 ** -2.0                              # the schedule's start moves alone
    assert np.allclose(plt.gcf().axes[0].lines[0].get_ydata(), baseline)
    constant_lr.value = 10 ** -1.5
    left, right = plt.gcf().axes
    assert np.allclose(left.lines[0].get_ydata(), 10 ** -1.5)
    assert left.lines[0].get_label() == "constant 0.0316"
    assert right.get_title().startswith("mean loss, last tenth of the steps: ")


def test_explore_schedules_rejects_too_few_steps():
    with pytest.raises(ValueError, match="steps must be an integer >= 4"):
        widgets.explore_schedules(regression(), steps=3)
