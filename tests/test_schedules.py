"""Learning-rate schedules: each formula against its closed form, warm-up,
construction by name, and the step-count convention shared with torch.optim's
schedulers (gdcore's schedule(t) is the rate of the step taken after t steps).
"""
import math
import pickle
import warnings

import numpy as np
import pytest

import gdcore as gd

S = gd.schedules
TS = [0, 1, 2, 7, 10, 29, 30, 31, 99, 100, 101, 250]

CLOSED_FORMS = [
    (S.constant(0.3), lambda t: 0.3),
    (S.step(0.5, step_size=30, gamma=0.2), lambda t: 0.5 * 0.2 ** math.floor(t / 30)),
    (S.exponential(0.1, gamma=0.97), lambda t: 0.1 * math.exp(t * math.log(0.97))),
    (S.linear(0.4, total_steps=100, end_lr=0.1),
     lambda t: 0.4 - 0.3 * t / 100 if t <= 100 else 0.1),
    (S.inverse_time(0.2, decay=0.5), lambda t: 0.2 / (1 + 0.5 * t)),
    (S.cosine(1.0, total_steps=100, min_lr=0.1),
     lambda t: 0.1 + 0.9 * (1 + math.cos(math.pi * min(t, 100) / 100)) / 2),
]


@pytest.mark.parametrize("schedule, formula", CLOSED_FORMS, ids=lambda s: getattr(s, "name", ""))
def test_schedule_matches_closed_form(schedule, formula):
    for t in TS:
        assert schedule(t) == pytest.approx(formula(t), rel=1e-12, abs=1e-15), t
        assert isinstance(schedule(t), float)


def test_landmark_values():
    """Values one can check by eye (independent of the formulas above)."""
    assert S.step(0.5, step_size=30, gamma=0.2)(29) == 0.5
    assert S.step(0.5, step_size=30, gamma=0.2)(30) == pytest.approx(0.1)
    assert S.cosine(1.0, total_steps=100)(50) == pytest.approx(0.5)
    assert S.cosine(1.0, total_steps=100)(100) == pytest.approx(0.0, abs=1e-16)
    assert S.cosine(1.0, total_steps=100, min_lr=0.2)(1000) == pytest.approx(0.2)
    assert S.linear(0.4, total_steps=100)(50) == pytest.approx(0.2)
    assert S.linear(0.4, total_steps=100)(200) == 0.0
    assert S.inverse_time(0.2, decay=1.0)(1) == pytest.approx(0.1)
    assert S.exponential(1.0, gamma=0.5)(3) == 0.125


def test_warmup_ramps_linearly_then_follows_the_schedule():
    base = S.cosine(0.5, total_steps=100)
    warm = S.warmup(base, warmup_steps=10)
    for t in range(10):
        assert warm(t) == pytest.approx(base(t) * (t + 1) / 10, rel=1e-12)
    for t in (10, 11, 50, 100, 150):
        assert warm(t) == base(t)
    assert warm(0) == pytest.approx(0.05, rel=1e-3)


@pytest.mark.parametrize("name, params", [
    ("constant", {}), ("step", {"step_size": 7, "gamma": 0.5}), ("exponential", {"gamma": 0.9}),
    ("linear", {"total_steps": 20, "end_lr": 0.01}), ("inverse_time", {"decay": 0.3}),
    ("cosine", {"total_steps": 20, "min_lr": 0.01})])
def test_make_by_name_equals_the_function(name, params):
    direct = getattr(S, name)(0.1, **params)
    by_name = S.make(name, 0.1, **params)
    np.testing.assert_array_equal(by_name.values(40), direct.values(40))
    assert by_name.name == name and repr(by_name) == repr(direct)
    warm = S.make(name, 0.1, warmup_steps=5, **params)
    np.testing.assert_array_equal(warm.values(40), S.warmup(direct, 5).values(40))


def test_values_lists_the_first_steps():
    schedule = S.exponential(0.1, gamma=0.5)
    values = schedule.values(5)
    assert isinstance(values, np.ndarray) and values.shape == (5,)
    np.testing.assert_allclose(values, [0.1, 0.05, 0.025, 0.0125, 0.00625])


def test_optimiser_uses_schedule_at_its_step_count():
    schedule = S.step(1.0, step_size=2, gamma=0.5)
    theta = np.zeros(1)
    opt = gd.SGD(theta, lr=schedule)
    rates = []
    for t in range(6):
        assert opt.current_lr == schedule(t)
        before = theta.copy()
        opt.step(np.ones(1))
        rates.append(float(before[0] - theta[0]))       # the rate that step used
    np.testing.assert_allclose(rates, [1, 1, 0.5, 0.5, 0.25, 0.25])


def test_torch_path_uses_schedule_at_each_parameters_step_count(device):
    torch = pytest.importorskip("torch")
    from gdcore import torch_optim
    schedule = S.exponential(1.0, gamma=0.5)
    p = torch.zeros(1, dtype=torch.float64, device=device, requires_grad=True)
    opt = torch_optim.SGD([p], lr=schedule)
    for t in range(4):
        before = p.detach().clone()
        p.grad = torch.ones_like(p)
        opt.step()
        assert (before - p).item() == pytest.approx(0.5 ** t)


@pytest.mark.parametrize("name", ["step", "exponential", "cosine", "lambda"])
def test_torch_scheduler_convention(name):
    """torch sets the next rate in scheduler.step() after optimizer.step(); the
    rate of torch's step t is then gdcore's schedule(t)."""
    torch = pytest.importorskip("torch")
    lr_scheduler = torch.optim.lr_scheduler
    if name == "step":
        ours = S.step(0.1, step_size=5, gamma=0.3)
        make = lambda opt: lr_scheduler.StepLR(opt, step_size=5, gamma=0.3)  # noqa: E731
    elif name == "exponential":
        ours = S.exponential(0.1, gamma=0.95)
        make = lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.95)  # noqa: E731
    elif name == "cosine":
        ours = S.cosine(0.1, total_steps=30, min_lr=0.01)
        make = lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=30, eta_min=0.01)  # noqa: E731
    else:
        ours = S.warmup(S.inverse_time(0.1, decay=0.2), warmup_steps=5)
        make = lambda opt: lr_scheduler.LambdaLR(opt, lambda t: ours(t) / 0.1)  # noqa: E731
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    scheduler = make(opt)
    used = []
    for _ in range(31):
        used.append(opt.param_groups[0]["lr"])    # the rate the coming step uses
        p.grad = torch.zeros_like(p)
        opt.step()
        scheduler.step()
    np.testing.assert_allclose(used, ours.values(31), rtol=1e-12)


# ------------------------------------------------------------ pickling and edge cases
ALL_SCHEDULES = [schedule for schedule, _ in CLOSED_FORMS] + [
    S.warmup(S.cosine(0.5, total_steps=100), warmup_steps=10),
    S.make("step", 0.1, step_size=7, gamma=0.5, warmup_steps=5)]


@pytest.mark.parametrize("schedule", ALL_SCHEDULES, ids=lambda s: s.name)
def test_pickle_round_trip_gives_the_same_rates(schedule):
    copy = pickle.loads(pickle.dumps(schedule))
    assert copy is not schedule and repr(copy) == repr(schedule)
    np.testing.assert_array_equal(copy.values(300), schedule.values(300))


def test_gamma_may_be_any_real_number_type():
    assert S.step(0.1, step_size=5, gamma=np.float32(0.5))(5) == pytest.approx(0.05)
    assert S.exponential(0.1, gamma=np.float32(0.5))(1) == pytest.approx(0.05)


def test_zero_warmup_steps_means_no_warm_up():
    np.testing.assert_array_equal(S.make("cosine", 0.1, total_steps=20, warmup_steps=0).values(30),
                                  S.cosine(0.1, total_steps=20).values(30))


def test_growing_exponential_reaches_inf_without_error_or_warning():
    schedule = S.exponential(1.0, gamma=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert schedule(1023) == 2.0 ** 1023
        assert schedule(1024) == math.inf == schedule(10 ** 6)
        assert S.exponential(1.0, gamma=0.5)(10 ** 6) == 0.0


def test_schedule_built_directly_takes_the_functions_defaults_and_checks():
    direct = S.Schedule("cosine", lr=0.1, total_steps=20)
    np.testing.assert_array_equal(direct.values(30), S.cosine(0.1, total_steps=20).values(30))
    assert repr(direct) == repr(S.cosine(0.1, total_steps=20))
    with pytest.raises(TypeError, match="^gamma is not a parameter of the cosine schedule"):
        S.Schedule("cosine", lr=0.1, total_steps=20, gamma=0.5)


def test_optimiser_refuses_an_infinite_rate_and_then_goes_on_with_a_finite_one():
    theta = np.zeros(2)
    opt = gd.SGD(theta, lr=S.exponential(1.0, gamma=2.0))
    opt.steps = 1024                                  # where the rate passes the float range
    with pytest.raises(ValueError, match=r"^lr: the schedule .* gives inf at step 1024"):
        opt.step(np.ones(2))
    assert opt.steps == 1024 and np.all(theta == 0)
