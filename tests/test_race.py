"""gdcore.race: the tuned race against closed forms and a brute-force search, its table,
its bad-input errors and its figures."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gdcore as gd  # noqa: E402
from gdcore.race import race, race_curves, race_paths, tuning_curves  # noqa: E402

CURVATURE = 4.0
LINE = gd.Quadratic(np.array([[CURVATURE]]))           # J = 2 theta^2, stable for lr < 0.5


def line_setups(starts=(1.0, -2.0, 0.5)):
    return [(LINE, np.array([s])) for s in starts]


def test_scores_match_the_closed_form_of_gradient_descent():
    # SGD on J = c theta^2 / 2: theta_T = (1 - lr c)^T theta_0, so J_T = c/2 (1 - lr c)^(2T) theta_0^2
    grid, steps, starts = np.array([0.01, 0.03, 0.1]), 20, (1.0, -2.0, 0.5)
    result = race(line_setups(starts), {"SGD": gd.SGD}, grid, steps)
    expected = [np.median([CURVATURE / 2 * (1 - lr * CURVATURE) ** (2 * steps) * s ** 2
                           for s in starts]) for lr in grid]
    np.testing.assert_allclose(result.scores["SGD"], expected, rtol=1e-10)
    assert result.best_lr["SGD"] == 0.1
    np.testing.assert_allclose(result.final("SGD"),
                               [CURVATURE / 2 * 0.6 ** 40 * s ** 2 for s in starts], rtol=1e-10)


def test_the_tuned_rate_is_the_best_of_a_brute_force_search():
    rosenbrock = gd.Rosenbrock()
    setups = [(rosenbrock, np.array([-1.2, 1.0]) + 0.1 * k) for k in range(3)]
    grid = np.geomspace(1e-4, 1e-2, 5)
    result = race(setups, {"Momentum": gd.Momentum}, grid, 50)
    medians = []
    for lr in grid:
        finals = []
        for problem, start in setups:
            h = gd.fit(problem, gd.Momentum(start.copy(), lr=lr), steps=50)
            finals.append(np.inf if h.diverged else h.final_loss)
        medians.append(np.median(finals))
    np.testing.assert_allclose(result.scores["Momentum"], medians, rtol=1e-12)
    assert result.best_lr["Momentum"] == grid[int(np.argmin(medians))]


def test_diverged_runs_count_as_infinite_and_show_in_the_table():
    result = race(line_setups(), {"SGD": gd.SGD}, [0.1, 1.0], 30)   # 1.0 > 2 / 4 diverges
    assert np.isinf(result.scores["SGD"][1]) and result.best_lr["SGD"] == 0.1
    bad = race(line_setups(), {"SGD": gd.SGD}, [1.0], 30)
    assert np.isinf(bad.final("SGD")).all()
    assert "diverged .. diverged" in bad.table() and "3/3" in bad.table()


def test_losses_below_the_floor_tie_and_the_smaller_rate_wins():
    # lr = 0.25 = 1/c reaches 0 exactly in one step; 0.2 gets below 1e-12 in 200 steps
    result = race(line_setups(), {"SGD": gd.SGD}, [0.2, 0.25], 200)
    assert result.scores["SGD"][1] == 0.0 and result.scores["SGD"][0] < 1e-12
    assert result.best_lr["SGD"] == 0.2
    assert result.format(result.scores["SGD"][0]) == "<1e-12"


def test_optimum_is_subtracted_and_the_grid_edge_is_flagged():
    saddle = gd.Saddle()
    setups = [(saddle, np.array([1.0, 0.5])), (saddle, np.array([1.0, -0.5]))]
    result = race(setups, {"SGD": gd.SGD}, [0.01, 0.1], 300, optimum=-1.0)
    assert result.best_lr["SGD"] == 0.1 and result.at_edge("SGD")
    np.testing.assert_allclose(result.final("SGD"),
                               [h.final_loss + 1.0 for h in result.histories["SGD"]])
    assert "0.1*" in result.table()


def test_format_rounds_to_two_significant_digits():
    result = race(line_setups(), {"SGD": gd.SGD}, [0.1], 1)
    assert result.format(0.012345) == "0.012"
    assert result.format(np.inf) == "diverged"
    assert result.format(5e-13) == "<1e-12"


@pytest.mark.parametrize("call, error, message", [
    (lambda: race([], {"SGD": gd.SGD}, [0.1], 5), ValueError, "setups is empty"),
    (lambda: race([(LINE, np.zeros(2))], {"SGD": gd.SGD}, [0.1], 5), ValueError,
     r"setups\[0\]: theta0 has shape \(2,\)"),
    (lambda: race(line_setups(), {}, [0.1], 5), ValueError, "optimizers must be a non-empty dict"),
    (lambda: race(line_setups(), {"SGD": gd.SGD}, [0.1, -1.0], 5), ValueError,
     r"lrs\[1\] must be a positive finite number"),
    (lambda: race(line_setups(), {"SGD": gd.SGD}, [], 5), ValueError, "lrs must be a non-empty"),
    (lambda: race(line_setups(), {"SGD": gd.SGD}, [0.1], 0), ValueError,
     "steps must be an integer >= 1"),
    (lambda: race(line_setups(), {"SGD": gd.SGD}, [0.1], 5, optimum=np.nan), ValueError,
     "optimum must be a finite number"),
])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_figures_draw_what_the_race_measured():
    plt.close("all")
    rosenbrock = gd.Rosenbrock()
    setups = [(rosenbrock, np.array([-1.2, 1.0]) + 0.05 * k) for k in range(3)]
    result = race(setups, {"SGD": gd.SGD, "Adam": gd.Adam}, [1e-3, 1e-2, 1e-1], 40)

    ax = race_paths(rosenbrock, result, setup=1)
    drawn = [line for line in ax.lines if line.get_label() == "Adam"][0]
    np.testing.assert_allclose(drawn.get_xydata(), result.histories["Adam"][1].trajectory)

    ax = race_curves(result)
    median = np.median([h.loss for h in result.histories["Adam"]], axis=0)
    line = [ln for ln in ax.lines if ln.get_label().startswith("Adam")][0]
    np.testing.assert_allclose(line.get_ydata(), np.maximum(median, result.floor))

    ax = tuning_curves(result)
    line = [ln for ln in ax.lines if ln.get_label() == "SGD"][0]
    expected = np.maximum(result.scores["SGD"], result.floor)
    np.testing.assert_allclose(line.get_ydata(), np.where(np.isfinite(expected), expected, np.nan))
    plt.close("all")
