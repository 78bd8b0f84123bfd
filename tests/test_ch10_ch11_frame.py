"""Chapters 10-11's explorers, plots and self-checks: each redraws or judges correctly."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import gdcore as gd  # noqa: E402
from gdcore import checks, nn, plots, widgets  # noqa: E402


def test_mlp_explorer_redraws_and_the_hidden_layers_matter():
    plt.close("all")
    x, y = gd.datasets.spirals(150, seed=0)
    box = widgets.explore_mlp(x, y, hidden=16, layers=0, lr=0.01, epochs=2)
    assert plt.gcf().axes[0].get_title().startswith("0 hidden layer(s) of 16: training accuracy")
    box.children[1].value = 2
    assert plt.gcf().axes[0].get_title().startswith("2 hidden layer(s) of 16")
    plt.close("all")


def test_scaling_explorer_draws_the_reference_and_the_scaled_run():
    plt.close("all")
    x, y = gd.datasets.spirals(120, seed=0)
    box = widgets.explore_scaling(x, y, epochs=2, workers=4, warmup_epochs=1)
    labels = [line.get_label() for line in plt.gcf().axes[0].lines]
    assert labels == ["m = 32, lr 0.1", "m = 120, lr 0.4, warm-up 1 epochs"]
    box.children[0].value = 2
    assert plt.gcf().axes[0].lines[1].get_label() == "m = 64, lr 0.2, warm-up 1 epochs"
    plt.close("all")


def test_decision_regions_colour_the_predicted_class():
    model = nn.mlp([2, 3])
    with torch.no_grad():  # class 0 left of x = 0, class 1 right of it
        model[0].weight.copy_(torch.tensor([[-5.0, 0], [5.0, 0], [0, 0]]))
        model[0].bias.zero_()
    xs, ys, labels = nn.grid_predictions(model, (-1, 1), (-1, 1), resolution=11)
    assert (labels[:, xs < 0] == 0).all() and (labels[:, xs > 0] == 1).all()
    ax = plots.decision_regions(model, np.zeros((2, 2)), np.array([0, 1]))
    assert ax.get_xlim() == (-1.2, 1.2)
    plt.close("all")


def test_ring_animation_has_one_frame_per_step():
    anim = plots.animate_ring_all_reduce(3)
    assert anim._save_count == 2 * (3 - 1) + 1
    anim.to_jshtml()  # renders every frame


def right_accumulation(model, x, y, k):
    model.zero_grad()
    for xb, yb in zip(x.tensor_split(k), y.tensor_split(k)):
        (F.cross_entropy(model(xb), yb) * len(xb) / len(x)).backward()


def zero_inside(model, x, y, k):
    for xb, yb in zip(x.tensor_split(k), y.tensor_split(k)):
        model.zero_grad()
        F.cross_entropy(model(xb), yb).backward()


def unweighted_sum(model, x, y, k):
    model.zero_grad()
    for xb, yb in zip(x.tensor_split(k), y.tensor_split(k)):
        F.cross_entropy(model(xb), yb).backward()


def unweighted_mean(model, x, y, k):
    model.zero_grad()
    for xb, yb in zip(x.tensor_split(k), y.tensor_split(k)):
        (F.cross_entropy(model(xb), yb) / k).backward()


@pytest.mark.parametrize("attempt, ok, words", [
    (right_accumulation, True, "give the gradient of the whole batch"),
    (zero_inside, False, "last micro-batch's gradient alone"),
    (unweighted_sum, False, "about 4 times too large"),
    (unweighted_mean, False, "equal weights"),
    (lambda *a: 1 / 0, False, "raised ZeroDivisionError"),
])
def test_accumulation_check_names_the_slip(attempt, ok, words, capsys):
    assert checks.check_accumulated_gradient(attempt) is ok
    assert words in capsys.readouterr().out


def right_average(model):
    for p in model.parameters():
        dist.all_reduce(p.grad)
        p.grad /= dist.get_world_size()


def summed(model):
    for p in model.parameters():
        dist.all_reduce(p.grad)


def untouched(model):
    for p in model.parameters():
        dist.all_reduce(p.grad.clone())


@pytest.mark.parametrize("attempt, ok, words", [
    (right_average, True, "all 3 workers hold the gradient of the whole batch"),
    (summed, False, "3 times too large"),
    (untouched, False, "still has its own gradient"),
])
def test_average_check_names_the_slip(attempt, ok, words, capsys):
    assert checks.check_gradient_average(attempt) is ok
    assert words in capsys.readouterr().out
