"""Tests for what chapter 1 (tuning a coefficient by hand) adds to gdcore:
check_slope, draw_tangent, animate_1d and explore_coefficient, and the facts the chapter prints."""
import gc

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gdcore as gd  # noqa: E402
from gdcore.checks import check_slope  # noqa: E402
from gdcore.plots import animate_1d, draw_tangent  # noqa: E402
from gdcore.widgets import explore_coefficient  # noqa: E402

# the tests draw single frames by hand instead of rendering whole animations
pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")


@pytest.fixture(autouse=True)
def collect_animations():
    """Free each test's animations while its warning filter still applies."""
    yield
    plt.close("all")
    gc.collect()


def J(w):
    return float(gd.one_coefficient_problem().loss(np.array([w])))


# ------------------------------------------------------------------ the chapter's numbers
def test_the_experiment_numbers():
    assert [round(J(w), 12) for w in (0.3, 0.35, 0.25)] == [0.5, 0.605, 0.405]
    assert J(-0.2) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("d", [1, 10, 100])
def test_probing_costs_two_evaluations_per_coefficient(d):
    X, y = gd.linear_data(n=20, features=d, seed=1)
    problem = gd.LinearRegression(X, y, bias=False)
    theta = np.random.default_rng(0).standard_normal(d)
    grad, evaluations = gd.numerical_gradient(problem.loss, theta)
    assert evaluations == 2 * d
    np.testing.assert_allclose(grad, problem.grad(theta), rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- check_slope
def central(loss, w, h):
    return (loss(w + h) - loss(w - h)) / (2 * h)


def test_check_slope_accepts_a_central_difference(capsys):
    assert check_slope(central, J, 0.3, h=1e-3) is True
    out = capsys.readouterr().out
    assert out.startswith("✓") and "2" in out


@pytest.mark.parametrize("slope_fn, words", [
    (lambda J, w, h: (J(w + h) - J(w)) / h, "forward difference"),
    (lambda J, w, h: (J(w) - J(w - h)) / h, "backward difference"),
    (lambda J, w, h: (J(w - h) - J(w + h)) / (2 * h), "sign is flipped"),
    (lambda J, w, h: (J(w + h) - J(w - h)) / h, "divide by 2h, not h"),
    (lambda J, w, h: 0.0, "differs from the central difference"),
])
def test_check_slope_names_the_slip(slope_fn, words, capsys):
    assert check_slope(slope_fn, J, 0.3, h=1e-3) is False
    out = capsys.readouterr().out
    assert out.startswith("✗") and words in out


def test_check_slope_reports_exceptions_and_non_numbers(capsys):
    assert check_slope(lambda J, w, h: 1 / 0, J, 0.3) is False
    assert "raised ZeroDivisionError" in capsys.readouterr().out
    assert check_slope(lambda J, w, h: "steep", J, 0.3) is False
    assert "should return one number" in capsys.readouterr().out


def test_check_slope_rejects_a_bad_h():
    with pytest.raises(ValueError, match="^h must be"):
        check_slope(central, J, 0.3, h=0)



@pytest.mark.parametrize("slope_fn, words", [
    # ignores h: exact on the chapter's parabola, so only the test cubic can catch it
    (lambda J, w, h: (J(w + 1e-6) - J(w - 1e-6)) / 2e-6, "the exact derivative 0.75"),
    # a formula for the chapter's loss instead of probes of J
    (lambda J, w, h: 4 * (w + 0.2), "on the test function J(w) = w**3"),
])
def test_check_slope_catches_what_a_parabola_cannot(slope_fn, words, capsys):
    assert central(J, 0.3, 1e-3) == pytest.approx(slope_fn(J, 0.3, 1e-3), rel=1e-8)  # the blind spot
    assert check_slope(slope_fn, J, 0.3, h=1e-3) is False
    out = capsys.readouterr().out
    assert out.startswith("✗") and words in out


def test_check_slope_names_the_operator_precedence_slip(capsys):
    assert check_slope(lambda J, w, h: (J(w + h) - J(w - h)) / 2 * h, J, 0.3, h=1e-3) is False
    assert "write '/ (2 * h)'" in capsys.readouterr().out


@pytest.mark.parametrize("w, h", [(0.5, 0.25), (-1.3, 0.1)])
def test_check_slope_on_a_non_quadratic_loss(w, h, capsys):
    """On the double well the central difference is not the derivative: the check must
    accept the central difference and reject the derivative itself."""
    well = gd.DoubleWell(tilt=0.25)
    loss = lambda v: float(well.loss(np.array([v])))  # noqa: E731
    exact = lambda f, v, h: float(well.grad(np.array([v]))[0])  # noqa: E731
    assert abs(central(loss, w, h) - exact(loss, w, h)) > 1e-3
    assert check_slope(central, loss, w, h=h) is True
    assert check_slope(exact, loss, w, h=h) is False
    assert "differs from the central difference" in capsys.readouterr().out.splitlines()[-1]

# ------------------------------------------------------------------------------- plots
def test_draw_tangent_passes_through_the_point_with_the_slope():
    fig, ax = plt.subplots()
    line = draw_tangent(ax, 0.3, 0.5, 2.0, half_width=0.1)
    xs, ys = line.get_data()
    np.testing.assert_allclose(xs, [0.2, 0.4])
    np.testing.assert_allclose(ys, [0.3, 0.7])
    assert line.get_linestyle() == "--"
    plt.close(fig)


def test_animate_1d_moves_the_point_and_the_tangent():
    points = [0.3, 0.25, 0.2]
    anim = animate_1d(J, points, (-1, 0.6), slope=lambda w: 4 * (w + 0.2),
                      titles=["a", "b", "c"])
    ax = anim._fig.axes[0]
    trail, current, tangent = anim._func(2)
    np.testing.assert_allclose(trail.get_xdata(), [0.3, 0.25])
    np.testing.assert_allclose(current.get_xdata(), [0.2])
    np.testing.assert_allclose(current.get_ydata(), [J(0.2)])
    xs, ys = tangent.get_data()
    assert (ys[1] - ys[0]) / (xs[1] - xs[0]) == pytest.approx(4 * 0.4)
    assert ax.get_title() == "c"
    assert ax.get_xlabel() == "w"
    assert len(list(anim.new_frame_seq())) == 3


def test_animate_1d_legend_names_the_tangent_only_when_drawn():
    with_slope = animate_1d(J, [0.3, 0.2], (-1, 0.6), slope=lambda w: 4 * (w + 0.2))
    labels = [t.get_text() for t in with_slope._fig.axes[0].get_legend().get_texts()]
    assert labels == ["loss", "earlier points", "current point", "tangent (slope)"]
    without = animate_1d(J, [0.3, 0.2], (-1, 0.6))
    labels = [t.get_text() for t in without._fig.axes[0].get_legend().get_texts()]
    assert labels == ["loss", "earlier points", "current point"]


def test_animate_1d_caps_the_frames_and_keeps_the_ends():
    anim = animate_1d(J, np.linspace(0.3, -0.2, 100), (-1, 0.6), frames=10)
    frames = list(anim.new_frame_seq())
    assert len(frames) == 10
    anim._func(frames[-1])
    np.testing.assert_allclose(anim._fig.axes[0].lines[2].get_xdata(), [-0.2])


def test_animate_1d_rejects_bad_input():
    with pytest.raises(ValueError, match="^points is empty"):
        animate_1d(J, [], (-1, 1))
    with pytest.raises(ValueError, match="^titles has 1 entries, but points has 2"):
        animate_1d(J, [0.1, 0.2], (-1, 1), titles=["only one"])
    with pytest.raises(ValueError, match="^frames must be"):
        animate_1d(J, [0.1, 0.2], (-1, 1), frames=0)


# ----------------------------------------------------------------------------- widgets
@pytest.fixture
def shown_titles(monkeypatch):
    """Titles of the figures the widget shows (plt.show is replaced; figures are closed)."""
    titles = []

    def show():
        titles.append(plt.gcf().axes[0].get_title())
        plt.close("all")

    monkeypatch.setattr(plt, "show", show)
    return titles


def test_explore_coefficient_redraws_when_a_slider_moves(shown_titles):
    box = explore_coefficient(gd.one_coefficient_problem(), w=0.3, h=0.05)
    w_slider, h_slider = box.children[:2]
    assert shown_titles[-1] == ("w = 0.30, J(w) = 0.5000\n"
                                "slope J'(w) = 2.0000, probe estimate = 2.0000")
    w_slider.value = -0.2
    assert shown_titles[-1].startswith("w = -0.20, J(w) = 0.0000\nslope J'(w) = 0.0000")
    h_slider.value = 0.3
    assert len(shown_titles) == 3


def test_explore_coefficient_needs_one_coefficient():
    with pytest.raises(ValueError, match="^problem must have one coefficient"):
        explore_coefficient(gd.Quadratic(np.eye(2)))
