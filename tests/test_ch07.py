"""Tests for what chapter 7 added to gdcore besides the race and the data:
checks.check_adam_step and widgets.explore_optimizers."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gdcore as gd  # noqa: E402
from gdcore.checks import check_adam_step  # noqa: E402
from gdcore.widgets import explore_optimizers  # noqa: E402


def adam_step(theta, grad, m, v, t, lr, beta1, beta2, eps, correct_m=True, correct_v=True,
              inside=False, swap=False, sign=1.0):
    b1, b2 = (beta2, beta1) if swap else (beta1, beta2)
    m = b1 * m + (1 - b1) * grad
    v = b2 * v + (1 - b2) * grad * grad
    m_hat = m / (1 - b1 ** t) if correct_m else m
    v_hat = v / (1 - b2 ** t) if correct_v else v
    denom = np.sqrt(v_hat + eps) if inside else np.sqrt(v_hat) + eps
    return theta - sign * lr * m_hat / denom, m, v


def test_a_correct_step_passes(capsys):
    assert check_adam_step(adam_step) is True
    assert capsys.readouterr().out.startswith("✓ your step matches gdcore.Adam")


@pytest.mark.parametrize("options, hint", [
    ({"correct_m": False, "correct_v": False}, "there is no bias correction"),
    ({"correct_v": False}, "v is not bias-corrected"),
    ({"correct_m": False}, "m is not bias-corrected"),
    ({"inside": True}, "eps is inside the square root"),
    ({"swap": True}, "beta1 and beta2 are swapped"),
    ({"sign": -1.0}, "the sign is flipped"),
])
def test_each_slip_is_named(options, hint, capsys):
    assert check_adam_step(lambda *args: adam_step(*args, **options)) is False
    assert hint in capsys.readouterr().out


def test_eps_inside_is_caught_with_tiny_gradients_when_eps_is_small():
    # with eps = 1e-16 inside the root the difference hides for gradients of size 1;
    # the tiny-gradient run must catch it
    slip = lambda *args: adam_step(*args, inside=True)  # noqa: E731
    assert check_adam_step(slip, eps=1e-16) is False


def test_counting_steps_from_zero_and_crashes_are_reported(capsys):
    from_zero = lambda theta, g, m, v, t, *rest: adam_step(theta, g, m, v, t - 1, *rest)  # noqa: E731
    assert check_adam_step(from_zero) is False
    assert "count t from 1" in capsys.readouterr().out

    def broken(*args):
        raise KeyError("m")

    assert check_adam_step(broken) is False
    assert "your step raised KeyError" in capsys.readouterr().out


def test_check_adam_step_rejects_bad_settings():
    with pytest.raises(ValueError, match=r"betas\[1\] must lie in \[0, 1\)"):
        check_adam_step(adam_step, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        check_adam_step(adam_step, steps=0)


def panels():
    left, right = plt.gcf().axes[:2]
    return left, right


def test_explorer_redraws_and_matches_the_optimiser():
    plt.close("all")
    box = explore_optimizers(gd.Rosenbrock(), start=(-1.2, 1.0), xlim=(-2, 2), ylim=(-1, 3),
                             optimizer="Adam", lr=0.1, steps=30)
    optimizer, lr, scale = box.children[:3]
    left, right = panels()
    path = left.lines[0].get_xydata()
    theta = np.array([-1.2, 1.0])
    gd.fit(gd.Rosenbrock(), gd.Adam(theta, lr=0.1), steps=30)
    np.testing.assert_allclose(path[-1], theta, rtol=1e-12)
    assert left.get_title().startswith("Adam, learning rate 0.1")

    scale.value = 1e4                       # Adam's path does not change with the scale
    np.testing.assert_allclose(panels()[0].lines[0].get_xydata(), path, atol=1e-6)

    optimizer.value = "SGD"
    lr.value = 1e-3                         # stable on J (curvature below 2 / lr near the start)
    scale.value = 1.0
    assert panels()[1].get_title().startswith("final excess loss")
    scale.value = 1e4                       # the same rate on 10^4 J blows up
    assert "diverged" in panels()[1].get_title()
    plt.close("all")


def test_explorer_rejects_an_unknown_optimiser():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        explore_optimizers(gd.Rosenbrock(), start=(0.0, 0.0), optimizer="Lion")
