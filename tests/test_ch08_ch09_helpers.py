"""Chapters 8-9 helpers: polynomial-fit and decision-boundary plots, the frame animation,
the regularisation and classifier explorers, and the exercise self-checks."""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import gdcore as gd  # noqa: E402
from gdcore import checks, plots, widgets  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------------- plots
def test_polynomial_fit_draws_the_polynomial_with_its_intercept():
    theta = np.array([1.0, -2.0, 0.5])               # x - 2 x^2 + 0.5
    ax = plots.polynomial_fit(theta, np.array([0.0]), np.array([1.0]), xlim=(-1, 1))
    xs, ys = ax.lines[-1].get_data()
    np.testing.assert_allclose(ys, xs - 2 * xs ** 2 + 0.5)


def test_decision_boundary_asks_the_model_over_the_padded_data_box():
    X = np.array([[-1.0, -2.0], [1.0, 2.0]])
    asked = []

    def predict(P):
        asked.append(P)
        return (P[:, 0] > 0) * 1

    ax = plots.decision_boundary(predict, X, np.array([0, 1]), resolution=21, padding=0.5)
    grid = asked[0]
    assert grid.shape == (21 * 21, 2)
    np.testing.assert_allclose(grid.min(axis=0), [-1.5, -2.5])
    np.testing.assert_allclose(grid.max(axis=0), [1.5, 2.5])
    assert ax.get_xlim() == (-1.5, 1.5)
    np.testing.assert_array_equal(ax.collections[-1].get_array(), [0, 1])   # points by label


def test_decision_boundary_of_a_trained_linear_model_matches_its_accuracy():
    X, y = gd.datasets.blobs(120, classes=3, seed=1)
    problem = gd.SoftmaxRegression(X, y)
    theta = np.zeros(problem.shape)
    gd.fit(problem, gd.Adam(theta, lr=0.1), epochs=20, batch_size=16)
    predicted = problem.predict(theta, X)
    assert np.mean(predicted == y) == problem.accuracy(theta)
    plots.decision_boundary(lambda P: problem.predict(theta, P), X, y)


def test_animate_frames_draws_every_frame_on_cleared_axes():
    seen = []

    def draw(axes, k):
        seen.append(k)
        axes[0].plot([0, k], [0, k])
        assert len(axes[0].lines) == 1 and len(axes) == 2

    anim = plots.animate_frames(draw, 3, ncols=2)
    anim.to_jshtml()
    assert set(seen) == {0, 1, 2}
    with pytest.raises(ValueError, match="frames must be an integer >= 1"):
        plots.animate_frames(draw, 0)


# ------------------------------------------------------------------------ widgets
def polynomial_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 30)
    y = np.sin(3 * x) + 0.1 * rng.standard_normal(30)
    return gd.datasets.train_val_split(x, y, val_fraction=0.3, seed=0)


def test_explore_regularisation_counts_exact_zeros_only_under_l1():
    x_tr, x_val, y_tr, y_val = polynomial_data()
    box = widgets.explore_regularisation(x_tr, y_tr, x_val, y_val, degree=8, strength=0.05,
                                         steps=500)
    penalty, strength, _ = box.children
    assert plt.gcf().axes[1].get_title().startswith("L2, λ = 0.05: 0 of 9 exactly zero")
    penalty.value = "L1"
    title = plt.gcf().axes[1].get_title()
    zeros = int(title.split(": ")[1].split(" of")[0])
    assert title.startswith("L1") and zeros > 0
    # the bars are the ISTA solution
    train = gd.LinearRegression(gd.datasets.polynomial_features(x_tr, 8), y_tr)
    theta = np.zeros(9)
    lr = 1 / np.linalg.eigvalsh(train.X.T @ train.X / train.n_samples)[-1]
    gd.fit(gd.L1Penalty(train, 0.05), gd.SGD(theta, lr=lr), steps=500, proximal=True)
    heights = [bar.get_height() for bar in plt.gcf().axes[1].patches]
    np.testing.assert_allclose(heights, theta)


def test_explore_classifier_reports_the_trained_accuracy():
    X, y = gd.datasets.moons(120, seed=0)
    box = widgets.explore_classifier(X, y, lr=0.1, epochs=5, batch_size=16)
    lr, epochs, batch_size, _ = box.children
    X_tr, X_val, y_tr, y_val = gd.datasets.train_val_split(X, y, 0.3, 0)
    train = gd.SoftmaxRegression(X_tr, y_tr)
    theta = np.zeros(train.shape)
    gd.fit(train, gd.Adam(theta, lr=0.1), epochs=5, batch_size=16, seed=0)
    assert plt.gcf().axes[0].get_title().startswith(f"accuracy: train {train.accuracy(theta):.2f}")
    epochs.value = 2
    assert len(plt.gcf().axes[1].lines[0].get_xdata()) == 3          # epochs 0, 1, 2


# ------------------------------------------------------------------------- checks
def test_check_soft_threshold(capsys):
    assert checks.check_soft_threshold(lambda v, t: np.sign(v) * np.maximum(np.abs(v) - t, 0))
    assert not checks.check_soft_threshold(lambda v, t: np.where(np.abs(v) > t, v, 0.0))
    assert "hard thresholding" in capsys.readouterr().out
    assert not checks.check_soft_threshold(lambda v, t: v - t * np.sign(v))
    assert "lies inside [-t, t]" in capsys.readouterr().out
    assert not checks.check_soft_threshold(lambda v, t: 1 / 0)
    assert "raised ZeroDivisionError" in capsys.readouterr().out


def test_check_ridge(capsys):
    def right(X, y, lam):
        return np.linalg.solve(X.T @ X + len(y) * lam * np.eye(X.shape[1]), X.T @ y)

    assert checks.check_ridge(right)
    assert not checks.check_ridge(lambda X, y, lam: np.linalg.solve(
        X.T @ X + lam * np.eye(X.shape[1]), X.T @ y))
    assert "add n λ I" in capsys.readouterr().out
    assert not checks.check_ridge(lambda X, y, lam: np.linalg.lstsq(X, y, rcond=None)[0])
    assert "plain least squares" in capsys.readouterr().out
    assert not checks.check_ridge(lambda X, y, lam: np.zeros(3))
    assert "shape (3,)" in capsys.readouterr().out


def test_check_logsumexp(capsys):
    def stable(z):
        top = z.max(axis=-1, keepdims=True)
        return (top + np.log(np.exp(z - top).sum(axis=-1, keepdims=True)))[:, 0]

    assert checks.check_logsumexp(stable)
    assert not checks.check_logsumexp(lambda z: np.log(np.exp(z).sum(axis=-1)))
    assert "exp overflowed" in capsys.readouterr().out
    assert not checks.check_logsumexp(lambda z: z.max(axis=-1))
    assert "expected" in capsys.readouterr().out
    assert not checks.check_logsumexp(lambda z: np.log(np.exp(z).sum()))
    assert "one value per row" in capsys.readouterr().out
