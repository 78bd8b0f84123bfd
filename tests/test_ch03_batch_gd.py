"""Tests for what chapter 3 added to gdcore: checks.check_linear_gradient,
widgets.explore_feature_scaling and the xlabel/ylabel/minimum options of plots.animate_paths."""
import gc

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gdcore as gd  # noqa: E402
from gdcore.checks import check_linear_gradient  # noqa: E402
from gdcore.widgets import explore_feature_scaling  # noqa: E402


# ------------------------------------------------------ check_linear_gradient
def right(X, y, theta):
    return X.T @ (X @ theta - y) / len(y)


def also_right(X, y, theta):  # the same gradient written as a mean of per-sample gradients
    return (X * (X @ theta - y)[:, None]).mean(axis=0)


@pytest.mark.parametrize("fn", [right, also_right])
def test_accepts_a_correct_gradient(fn, capsys):
    assert check_linear_gradient(fn) is True
    assert capsys.readouterr().out.startswith("✓ your gradient equals X.T @ (X @ theta - y) / n")


@pytest.mark.parametrize("fn, words", [
    (lambda X, y, th: X.T @ (X @ th - y), "1/n that averages over the samples is missing"),
    (lambda X, y, th: X.T @ (y - X @ th) / len(y), "sign is flipped"),
    (lambda X, y, th: 2 * X.T @ (X @ th - y) / len(y), "drop the 2"),
    (lambda X, y, th: X.T @ (X @ th) / len(y), "does not depend on y"),
    (lambda X, y, th: X @ (X @ th - y) / len(y), "check which product needs the transpose"),
    (lambda X, y, th: X * (X @ th - y)[:, None], "average them over the samples (axis 0)"),
    (lambda X, y, th: (X @ th - y) / len(y), "one entry per sample"),
    (lambda X, y, th: X.T @ (X @ th - y) / len(y) + np.array([0.0, 1.0, 0.0]), "differs at coordinate 1"),
    (lambda X, y, th: undefined_name, "raised NameError"),  # noqa: F821
])
def test_names_the_mistake(fn, words, capsys):
    assert check_linear_gradient(fn) is False
    out = capsys.readouterr().out
    assert out.startswith("✗ ") and words in out, out


def test_rejects_square_data():
    with pytest.raises(ValueError, match="n and d must differ"):
        check_linear_gradient(right, n=3, d=3)


# ---------------------------------------------------- explore_feature_scaling
def panels():
    left, right = plt.gcf().axes
    return left.get_title(), right.get_title(), left.lines[0].get_xydata().copy()


def test_explorer_redraws_when_a_slider_moves():
    plt.close("all")
    X, y = gd.linear_data(n=100, seed=0)
    box = explore_feature_scaling(X, y, start=(1.2, -1.0), lr=0.3, steps=20)
    lr, scale, standardise = box.children[:3]
    title, outcome, path = panels()
    H = np.array([[np.mean(X[:, 0] ** 2), X[:, 0].mean()], [X[:, 0].mean(), 1.0]])
    eigenvalues = np.linalg.eigvalsh(H)
    assert title == (f"κ = {eigenvalues[1] / eigenvalues[0]:.3g}, "
                     f"2/λ_max = {2 / eigenvalues[1]:.3g}, α = 0.3")
    assert outcome.endswith("after 20 steps") and path.shape == (21, 2)
    np.testing.assert_allclose(path[0], [1.2, -1.0])

    lr.value = 0.1
    new_title, _, new_path = panels()
    assert new_title.endswith("α = 0.1") and not np.allclose(new_path, path)

    scale.value = 4.0  # x in larger units: the slope shrinks, the curvature grows like s^2
    title4, outcome4, path4 = panels()
    np.testing.assert_allclose(path4[0], [1.2 / 4, -1.0])
    kappa4 = float(title4.split("κ = ")[1].split(",")[0])
    assert kappa4 > 50
    assert outcome4.startswith("diverging: gap")  # 0.1 > 2 / lambda_max at this scale

    standardise.value = True  # standardising undoes any scale: H = I
    title_std, outcome_std, _ = panels()
    assert title_std.startswith("κ = 1, 2/λ_max = 2,")
    assert outcome_std.startswith("gap")
    gap = plt.gcf().axes[1].lines[0].get_ydata()
    np.testing.assert_allclose(gap[1:] / gap[:-1], (1 - 0.1) ** 2)  # every direction shrinks by 1 - lr
    plt.close("all")


def test_explorer_rejects_several_features():
    X, y = gd.linear_data(n=20, features=2, seed=0)
    with pytest.raises(ValueError, match="one feature"):
        explore_feature_scaling(X, y)


# ------------------------------------------- core fix: docstrings of gdcore.problems
def rst_problems(doc):
    """docutils' complaints about a docstring, minus Sphinx's roles, which plain docutils lacks."""
    import io

    from docutils.core import publish_doctree

    stream = io.StringIO()
    publish_doctree(doc, settings_overrides={"warning_stream": stream, "report_level": 2})
    return [line for line in stream.getvalue().splitlines()
            if "(ERROR" in line or "(WARNING" in line or "(SEVERE" in line
            if "Unknown interpreted text role" not in line]


def test_rst_check_catches_a_bare_absolute_value():
    # |theta| outside a literal is an undefined reST substitution: the strict book build fails on it
    assert rst_problems("max(|theta| - lr, 0)")
    assert not rst_problems("``max(|theta| - lr, 0)``")


def test_problems_docstrings_are_valid_restructuredtext():
    import inspect

    import gdcore.problems as module

    objects = [module] + [obj for name, obj in vars(module).items()
                          if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__]
    objects += [member for cls in objects if inspect.isclass(cls)
                for name, member in vars(cls).items() if not name.startswith("_") and callable(member)]
    for obj in objects:
        doc = inspect.getdoc(obj)
        assert not (doc and rst_problems(doc)), f"{getattr(obj, '__qualname__', obj)}: {rst_problems(doc)}"



# ----------------------------------------------- animate_paths: labels and minimum
# the tests draw single frames by hand instead of rendering whole animations
no_render_warning = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")


@no_render_warning
def test_animate_paths_labels_axes_and_marks_the_minimum():
    plt.close("all")
    X, y = gd.linear_data(n=50, seed=0)
    problem = gd.LinearRegression(X, y)
    best = problem.solution()
    path = np.array([[0.0, 0.0], [0.5, 0.4], [1.0, 0.7]])
    anim = gd.plots.animate_paths(problem, [path], xlim=(-1, 3), ylim=(-1, 3), labels=["run"],
                                  xlabel="slope a", ylabel="intercept b", minimum=best,
                                  legend_fontsize=10)
    ax = anim._fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("slope a", "intercept b")
    marks = [line for line in ax.lines if line.get_label() == "minimum"]
    assert len(marks) == 1 and marks[0].get_marker() == "x"
    np.testing.assert_allclose(marks[0].get_xydata()[0], best)
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["run", "minimum"]
    assert legend.get_texts()[0].get_fontsize() == 10
    anim._func(2)  # the last frame shows the whole path
    assert ax.get_title() == "step 2"
    np.testing.assert_allclose(ax.lines[-2].get_xydata(), path)
    del anim
    plt.close("all")
    gc.collect()


@no_render_warning
def test_animate_paths_defaults_are_unchanged():
    plt.close("all")
    anim = gd.plots.animate_paths(gd.Quadratic.with_condition(4.0), [np.array([[1.0, 1.0], [0.5, 0.2]])])
    ax = anim._fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == (r"$\theta_1$", r"$\theta_2$")
    assert ax.get_legend() is None and not any(line.get_marker() == "x" for line in ax.lines)
    del anim
    plt.close("all")
    gc.collect()
