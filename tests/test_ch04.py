"""Tests for what chapter 4 added to gdcore: checks.check_epoch_batches,
widgets.explore_batch_size and the styles option of plots.animate_paths."""
import contextlib
import gc
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import gdcore as gd  # noqa: E402
from gdcore.checks import check_epoch_batches  # noqa: E402
from gdcore.widgets import explore_batch_size  # noqa: E402


# ------------------------------------------------------- check_epoch_batches
@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 200), m=st.integers(1, 200), seed=st.integers(0, 2**32 - 1))
def test_a_shuffled_epoch_of_gdcore_batches_passes(n, m, seed):
    m = min(m, n)
    batches = list(gd.Batches(n, m, order="shuffle", seed=seed).epoch())
    # for tiny n a permutation may come out in data order, reversed, or as the unshuffled
    # slices in another order; the check then rightly objects
    used = np.concatenate(batches)
    blocks = len(batches) > 1 and m > 1 and all(
        np.array_equal(np.sort(b), np.arange(b.min(), b.min() + len(b))) and b.min() % m == 0
        for b in batches)
    unshuffled = n > 2 and (np.array_equal(used, np.arange(n))
                            or np.array_equal(used, np.arange(n)[::-1]) or blocks)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert check_epoch_batches(batches, n, m) is not unshuffled
    assert out.getvalue().startswith("✗" if unshuffled else "✓")


def test_a_correct_epoch_is_described(capsys):
    perm = np.random.default_rng(0).permutation(10)
    assert check_epoch_batches([perm[:4], perm[4:8], perm[8:]], 10, 4)
    assert capsys.readouterr().out == ("✓ 2 batches of 4 and a last one of 2 use each of the "
                                       "10 samples exactly once, in shuffled order\n")


def test_a_sequential_epoch_passes_only_when_order_does_not_matter(capsys):
    batches = list(gd.Batches(12, 4, order="sequential").epoch())
    assert check_epoch_batches(batches, 12, 4, shuffled=False)
    assert not check_epoch_batches(batches, 12, 4)
    assert "in data order" in capsys.readouterr().out.splitlines()[-1]


def test_reversed_data_order_is_not_called_shuffled(capsys):
    batches = [np.arange(9, 5, -1), np.arange(5, 1, -1), np.array([1, 0])]
    assert not check_epoch_batches(batches, 10, 4)
    assert "reversed data order" in capsys.readouterr().out
    assert check_epoch_batches(batches, 10, 4, shuffled=False)


def test_unshuffled_slices_in_shuffled_batch_order_are_caught(capsys):
    batches = [np.arange(8, 12), np.arange(0, 4), np.arange(4, 8)]
    assert not check_epoch_batches(batches, 12, 4)
    assert "only their order is shuffled" in capsys.readouterr().out


def good_epoch(n, m, rng):
    order = rng.permutation(n)
    return [order[i:i + m] for i in range(0, n, m)]


def fixed_partition(n, m, rng):
    # one fixed random partition, the batch order alone drawn from rng
    order = np.random.default_rng(123).permutation(n)
    slices = [order[i:i + m] for i in range(0, n, m)]
    return [slices[k] for k in rng.permutation(len(slices) - 1)] + slices[-1:]  # short one last


def ignores_rng(n, m, rng):
    return good_epoch(n, m, np.random.default_rng(7))


def global_rng(n, m, rng):
    order = np.random.permutation(n)
    return [order[i:i + m] for i in range(0, n, m)]


@pytest.mark.parametrize("make_batches, verdict", [
    (good_epoch, "✓ 6 batches of 8 and a last one of 2 use each of the 50 samples exactly once, "
                 "in shuffled order"),
    (fixed_partition, "✗ the batches are fixed groups of samples and only their order is shuffled"),
    (ignores_rng, "✗ generators with different seeds gave the same epoch: your function ignores"),
    (global_rng, "✗ two calls with generators of the same seed gave different epochs"),
    (lambda n, m, rng: [np.arange(n)[::-1][i:i + m] for i in range(0, n, m)],
     "✗ every sample is used once, but in reversed data order"),
    (lambda n, m, rng: 1 / 0, "✗ your batch function raised ZeroDivisionError: division by zero"),
])
def test_a_batch_function_is_checked_with_several_generators(make_batches, verdict, capsys):
    assert check_epoch_batches(make_batches, 50, 8) is verdict.startswith("✓")
    assert capsys.readouterr().out.startswith(verdict)


def test_batches_drawn_with_replacement_are_caught(capsys):
    rng = np.random.default_rng(1)
    batches = [rng.integers(0, 50, 5) for _ in range(10)]
    assert not check_epoch_batches(batches, 50, 5)
    out = capsys.readouterr().out
    assert out.startswith("✗ sample ") and "without replacement" in out


def test_a_sample_repeated_inside_one_batch_is_counted_per_use(capsys):
    batches = [np.array([0, 1, 0]), np.array([2, 0, 4]), np.array([3])]
    assert not check_epoch_batches(batches, 5, 3)
    assert capsys.readouterr().out.startswith(
        "✗ sample 0 is used 3 times (in batches [0, 0, 1]) and 1 samples are repeated in all")


def test_dropping_the_last_batch_is_caught(capsys):
    perm = np.random.default_rng(2).permutation(10)
    assert not check_epoch_batches([perm[:4], perm[4:8]], 10, 4)
    out = capsys.readouterr().out
    assert out.startswith("✗ 2 of the 10 samples are never used")


@pytest.mark.parametrize("cuts, message", [
    ((3, 6, 9), "✗ you made 4 batches; n = 10 samples in batches of m = 4 need ceil(n / m) = 3"),
    ((2, 6), "✗ batch 0 has 2 samples; expected m = 4 (only the last batch may be smaller)"),
    ((4, 9), "✗ batch 1 has 5 samples; expected m = 4 (only the last batch may be smaller)"),
])
def test_wrong_batch_counts_and_sizes_are_named(cuts, message, capsys):
    perm = np.random.default_rng(3).permutation(10)
    assert not check_epoch_batches(np.split(perm, cuts), 10, 4)
    assert capsys.readouterr().out.strip() == message


@pytest.mark.parametrize("batches, message", [
    ([np.arange(3), np.array([3, 10])], "✗ batch 1 holds index 10, outside 0..9"),
    ([np.arange(5), np.array([], dtype=int)], "✗ batch 1 is empty"),
    ([np.arange(5) * 1.0], "✗ batch 0 is not a 1-D array of integer sample indices"),
])
def test_malformed_batches_are_named(batches, message, capsys):
    assert not check_epoch_batches(batches, 10, 5)
    assert capsys.readouterr().out.startswith(message)


# ------------------------------------------------------- explore_batch_size
@pytest.fixture
def line_problem():
    X, y = gd.linear_data(n=64, slope=2.0, intercept=1.0, noise=0.5, seed=0)
    return gd.LinearRegression(X, y)


def titles():
    return [ax.get_title() for ax in plt.gcf().axes]


def test_the_explorer_redraws_for_a_new_batch_size_and_learning_rate(line_problem):
    plt.close("all")
    box = explore_batch_size(line_problem, start=(0.0, 0.0), xlim=(-1, 4), ylim=(-1, 3), steps=20)
    batch_slider, lr_slider = box.children[:-1]
    assert batch_slider.options == (1, 2, 4, 8, 16, 32, 64)
    first = titles()
    assert first[0] == "MBGD, m = 32, learning rate 0.1"
    assert first[1].startswith("10 epochs, final loss ")
    batch_slider.value = 64
    assert titles()[0] == "BGD, m = 64, learning rate 0.1"
    assert titles()[1].startswith("20 epochs, ")
    lr_slider.value = 0.01
    assert titles()[0] == "BGD, m = 64, learning rate 0.01"
    batch_slider.value = 1
    assert titles()[0] == "SGD, m = 1, learning rate 0.01"
    left, right = plt.gcf().axes
    assert len(left.lines[0].get_xdata()) == 21  # start plus 20 updates
    assert [line.get_label() for line in right.lines] == ["loss on all training data",
                                                          "loss on the step's batch"]
    plt.close("all")


def test_the_explorer_rejects_unsuitable_input(line_problem):
    with pytest.raises(ValueError, match="batch_size must be one of"):
        explore_batch_size(line_problem, (0, 0), (-1, 4), (-1, 3), batch_size=10)
    with pytest.raises(ValueError, match="2 parameters"):
        explore_batch_size(gd.Rosenbrock(), (0, 0), (-1, 4), (-1, 3))


# ------------------------------------------------------- animate_paths: styles
@pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")
def test_animate_paths_styles_set_the_look_of_each_path(line_problem):
    plt.close("all")
    paths = [np.array([[0.0, 0.0], [1.0, 0.5], [2.0, 1.0]]), np.array([[0.0, 0.0], [1.5, 0.8]])]
    anim = gd.plots.animate_paths(line_problem, paths, xlim=(-1, 4), ylim=(-1, 3), labels=["a", "b"],
                                  styles=[{"color": "C0", "ls": "--", "lw": 3, "marker": "o"}, None])
    ax = anim._fig.axes[0]
    styled, plain = ax.lines[-2:]
    assert (styled.get_linestyle(), styled.get_linewidth(), styled.get_marker()) == ("--", 3, "o")
    assert styled.get_color() == "C0"
    assert (plain.get_linestyle(), plain.get_linewidth(), plain.get_marker()) == ("-", 1.2, ".")
    anim._func(2)  # the last frame draws the whole of both paths
    np.testing.assert_allclose(styled.get_xydata(), paths[0])
    np.testing.assert_allclose(plain.get_xydata(), paths[1])
    del anim
    plt.close("all")
    gc.collect()


def test_animate_paths_wants_one_style_per_path(line_problem):
    with pytest.raises(ValueError, match="styles has 1 entries, but there are 2 paths"):
        gd.plots.animate_paths(line_problem, [np.zeros((2, 2)), np.ones((2, 2))], styles=[{}])
    plt.close("all")


# ------------------------------------------------------- loss_curves(batch=True)
def test_batch_losses_are_drawn_at_their_step_in_the_units_of_x(line_problem):
    """Step t of 8 steps per epoch is epoch t / 8 and 8 t samples (64 samples, m = 8)."""
    plt.close("all")
    history = gd.fit(line_problem, gd.SGD(np.zeros(2), lr=0.05), steps=20, batch_size=8)
    for x, expected in (("step", np.arange(20)), ("epoch", np.arange(20) / 8),
                        ("samples", 8 * np.arange(20))):
        ax = gd.plots.loss_curves({"run": history}, x=x, batch=True, batch_label="batch loss")
        full, batch = ax.lines
        np.testing.assert_allclose(batch.get_xdata(), expected)
        np.testing.assert_array_equal(batch.get_ydata(), history.batch_loss)
        assert full.get_color() == batch.get_color()
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["run", "batch loss"]
    plt.close("all")


def test_batch_losses_between_evaluations_are_placed_by_interpolation(line_problem):
    plt.close("all")
    history = gd.fit(line_problem, gd.SGD(np.zeros(2), lr=0.05), steps=20, batch_size=8,
                     eval_every=5)
    ax = gd.plots.loss_curves({"run": history}, x="epoch", batch=True)
    np.testing.assert_allclose(ax.lines[1].get_xdata(), np.arange(20) / 8)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["run"]  # no batch_label
    plt.close("all")
