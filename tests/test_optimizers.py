"""gdcore's optimisers against torch.optim, step for step, in float64.

For each method three runs start from the same parameters of one small
non-linear least-squares model (a matrix, a bias vector and an output vector,
so momentum and the adaptive denominators see gradients that change with the
parameters): gdcore's NumPy path, gdcore's torch path and the matching
``torch.optim`` optimiser (with, where a schedule is used, the matching
``torch.optim.lr_scheduler``). After every one of 100 steps the parameters of
all three must agree to 1e-10 relative, and at the end so must their state.
"""
import copy
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gdcore as gd

torch = pytest.importorskip("torch")
from gdcore import torch_optim  # noqa: E402  (needs torch)

STEPS = 100
RTOL = 1e-10

# ----------------------------------------------------------------- the model
_rng = np.random.default_rng(20261121)
X_DATA = _rng.standard_normal((32, 4))
Y_DATA = np.sin(X_DATA @ np.array([1.0, -2.0, 0.5, 0.3]))
INITIAL = [0.5 * _rng.standard_normal((4, 3)),   # W, a matrix
           0.1 * _rng.standard_normal(3),        # b
           _rng.standard_normal(3)]              # u


def model_loss(params, X, y):
    """J(W, b, u) = mean((tanh(X W + b) u - y)^2) / 2 on torch tensors."""
    W, b, u = params
    residual = torch.tanh(X @ W + b) @ u - y
    return (residual * residual).mean() / 2


def torch_data(device):
    return (torch.tensor(X_DATA, device=device), torch.tensor(Y_DATA, device=device))


def numpy_grads(params):
    """The model's gradients at NumPy parameters (autograd on CPU float64 copies)."""
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    model_loss(tensors, *torch_data("cpu")).backward()
    return [t.grad.numpy() for t in tensors]


def run_numpy(make_opt, steps=STEPS):
    params = [p.copy() for p in INITIAL]
    opt = make_opt(params)
    trajectory = []
    for _ in range(steps):
        opt.step(numpy_grads(params))
        trajectory.append([p.copy() for p in params])
    return trajectory, opt


def run_torch(make_opt, device, make_scheduler=None, steps=STEPS):
    params = [torch.tensor(p, device=device, requires_grad=True) for p in INITIAL]
    data = torch_data(device)
    opt = make_opt(params)
    scheduler = make_scheduler(opt) if make_scheduler else None
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        model_loss(params, *data).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        trajectory.append([p.detach().cpu().numpy().copy() for p in params])
    return trajectory, opt, params


def assert_close(actual, expected, what, rtol=RTOL):
    """Normwise relative agreement: |actual - expected| <= rtol * |expected|."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    error = np.linalg.norm(actual - expected)
    assert error <= rtol * np.linalg.norm(expected), (
        f"{what}: relative difference {error / np.linalg.norm(expected):.3g} > {rtol:g}")


def assert_same_trajectory(actual, expected, label):
    """Every step's displacement from the start agrees to RTOL relative, for every tensor."""
    for t, (params_a, params_e) in enumerate(zip(actual, expected)):
        for i, (a, e, start) in enumerate(zip(params_a, params_e, INITIAL)):
            assert_close(a - start, e - start, f"{label}, step {t + 1}, parameter {i}")
    moved = sum(np.linalg.norm(p - s) for p, s in zip(expected[-1], INITIAL))
    assert moved > 1e-3, "the parameters hardly moved: the comparison would prove little"


# ---------------------------------------------- gdcore schedule -> torch scheduler
def base_lr(schedule):
    """The learning rate a schedule starts from (through a warm-up wrapper)."""
    while "schedule" in schedule.params:
        schedule = schedule.params["schedule"]
    return schedule.params["lr"]


def torch_scheduler(schedule):
    """The torch.optim.lr_scheduler that gives the same rates as ``schedule``.

    gdcore uses ``schedule(t)`` for the step after t completed steps
    (t = 0, 1, ...); a torch scheduler sets the rate of the next step each time
    ``scheduler.step()`` is called after ``optimizer.step()``, starting from the
    optimiser's ``lr``. So with ``lr = schedule(0)`` and one ``scheduler.step()``
    per step, torch's step t uses the same rate. The closed forms map directly
    (cosine while t <= total_steps, where torch's rate is not yet periodic);
    anything else goes through LambdaLR with factor schedule(t) / lr.
    """
    p = schedule.params
    lr_scheduler = torch.optim.lr_scheduler
    if schedule.name == "step":
        return lambda opt: lr_scheduler.StepLR(opt, step_size=p["step_size"], gamma=p["gamma"])
    if schedule.name == "exponential":
        return lambda opt: lr_scheduler.ExponentialLR(opt, gamma=p["gamma"])
    if schedule.name == "cosine":
        assert p["total_steps"] >= STEPS, "CosineAnnealingLR restarts upwards after T_max"
        return lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=p["total_steps"],
                                                          eta_min=p["min_lr"])
    lr = base_lr(schedule)
    return lambda opt: lr_scheduler.LambdaLR(opt, lambda t: schedule(t) / lr)


# ------------------------------------------------------------------- the cases
# name: (gdcore keyword arguments, torch.optim class, its keyword arguments).
# The mapping of conventions is explicit: gdcore's momentum ``beta`` is
# SGD's ``momentum`` (dampening 0), RMSprop's ``beta`` is torch's ``alpha``.
DEFAULTS = {
    "SGD": ({}, torch.optim.SGD, {}),
    "Momentum": ({}, torch.optim.SGD, {"momentum": 0.9}),
    "Nesterov": ({}, torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "Adagrad": ({}, torch.optim.Adagrad, {}),
    "RMSprop": ({}, torch.optim.RMSprop, {}),
    "Adam": ({}, torch.optim.Adam, {}),
    "AdamW": ({}, torch.optim.AdamW, {}),
    "Adam-amsgrad": ({"amsgrad": True}, torch.optim.Adam, {"amsgrad": True}),
    "AdamW-amsgrad": ({"amsgrad": True}, torch.optim.AdamW, {"amsgrad": True}),
}

S = gd.schedules
NON_DEFAULTS = {
    "SGD": ({"weight_decay": 0.01}, S.step(0.2, step_size=30, gamma=0.5),
            torch.optim.SGD, {"weight_decay": 0.01}),
    "Momentum": ({"beta": 0.8, "weight_decay": 0.02}, S.exponential(0.05, gamma=0.98),
                 torch.optim.SGD, {"momentum": 0.8, "weight_decay": 0.02}),
    "Nesterov": ({"beta": 0.7, "weight_decay": 0.01}, S.cosine(0.08, total_steps=100, min_lr=0.01),
                 torch.optim.SGD, {"momentum": 0.7, "nesterov": True, "weight_decay": 0.01}),
    "Adagrad": ({"eps": 1e-6, "weight_decay": 0.01},
                S.warmup(S.cosine(0.05, total_steps=150), warmup_steps=10),
                torch.optim.Adagrad, {"eps": 1e-6, "weight_decay": 0.01}),
    "RMSprop": ({"beta": 0.9, "eps": 1e-6, "weight_decay": 0.01},
                S.linear(0.005, total_steps=80, end_lr=0.001),
                torch.optim.RMSprop, {"alpha": 0.9, "eps": 1e-6, "weight_decay": 0.01}),
    "Adam": ({"betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01},
             S.inverse_time(0.02, decay=0.05),
             torch.optim.Adam, {"betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01}),
    "AdamW": ({"betas": (0.85, 0.995), "eps": 1e-7, "weight_decay": 0.1},
              S.cosine(0.02, total_steps=120, min_lr=0.002),
              torch.optim.AdamW, {"betas": (0.85, 0.995), "eps": 1e-7, "weight_decay": 0.1}),
    "Adam-amsgrad": ({"betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01, "amsgrad": True},
                     S.step(0.02, step_size=25, gamma=0.5),
                     torch.optim.Adam, {"betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01,
                                        "amsgrad": True}),
    "AdamW-amsgrad": ({"betas": (0.85, 0.995), "eps": 1e-7, "weight_decay": 0.1, "amsgrad": True},
                      S.warmup(S.cosine(0.02, total_steps=120), warmup_steps=10),
                      torch.optim.AdamW, {"betas": (0.85, 0.995), "eps": 1e-7,
                                          "weight_decay": 0.1, "amsgrad": True}),
}


def gd_class(module, case):
    """The class of a case such as "Adam-amsgrad" (the part before the dash) in ``module``."""
    return getattr(module, case.split("-")[0])

def assert_same_state(np_opt, gd_opt, gd_params, ref_opt, ref_params, steps=STEPS):
    assert np_opt.steps == steps
    for i, (p, q) in enumerate(zip(gd_params, ref_params)):
        ours, theirs = gd_opt.state[p], ref_opt.state[q]
        assert ours["step"] == steps
        assert float(theirs.get("step", steps)) == steps
        # gdcore uses torch.optim's state names (torch's SGD keeps momentum_buffer=None)
        names = {key for key, value in theirs.items() if key != "step" and value is not None}
        assert set(ours) == {"step", *names}
        for name in names:
            assert_close(ours[name].cpu(), theirs[name].cpu(),
                         f"torch-path state {name!r} of parameter {i}")
            assert_close(np_opt.state[i][name], ours[name].cpu(),
                         f"NumPy-path state {name!r} of parameter {i}")


@pytest.mark.parametrize("name", DEFAULTS)
def test_default_hyperparameters_match_torch_optim(name, device):
    gd_kwargs, torch_cls, torch_kwargs = DEFAULTS[name]
    # torch.optim is built with its own defaults (only the mapped momentum given),
    # gdcore with none at all: equal results prove the defaults equal too.
    ref, ref_opt, ref_params = run_torch(lambda ps: torch_cls(ps, **torch_kwargs), device)
    ours, gd_opt, gd_params = run_torch(
        lambda ps: gd_class(torch_optim, name)(ps, **gd_kwargs), device)
    numpy, np_opt = run_numpy(lambda ps: gd_class(gd, name)(ps, **gd_kwargs))
    assert_same_trajectory(ours, ref, f"{name} torch path vs torch.optim")
    assert_same_trajectory(numpy, ref, f"{name} NumPy path vs torch.optim")
    assert_same_state(np_opt, gd_opt, gd_params, ref_opt, ref_params)


@pytest.mark.parametrize("name", NON_DEFAULTS)
def test_hyperparameters_weight_decay_and_schedule_match_torch_optim(name, device):
    gd_kwargs, schedule, torch_cls, torch_kwargs = NON_DEFAULTS[name]
    lr0 = base_lr(schedule)
    ref, ref_opt, ref_params = run_torch(lambda ps: torch_cls(ps, lr=lr0, **torch_kwargs),
                                         device, torch_scheduler(schedule))
    ours, gd_opt, gd_params = run_torch(
        lambda ps: gd_class(torch_optim, name)(ps, lr=schedule, **gd_kwargs), device)
    numpy, np_opt = run_numpy(lambda ps: gd_class(gd, name)(ps, lr=schedule, **gd_kwargs))
    assert_same_trajectory(ours, ref, f"{name} torch path vs torch.optim")
    assert_same_trajectory(numpy, ref, f"{name} NumPy path vs torch.optim")
    assert_same_state(np_opt, gd_opt, gd_params, ref_opt, ref_params)
    if gd_kwargs.get("amsgrad"):   # the maximum was taken somewhere, so AMSGrad changed the run
        assert any(np.any(s["max_exp_avg_sq"] > s["exp_avg_sq"]) for s in np_opt.state)
    # the schedule really varied the rate over the run
    rates = schedule.values(STEPS)
    assert rates.max() > 1.2 * rates.min()


def test_momentum_forms_differ_only_by_the_stated_rescaling():
    """The damped form v <- beta v + (1 - beta) g, theta <- theta - lr/(1 - beta) v
    is gdcore's Momentum."""
    beta, lr = 0.8, 0.03
    numpy, _ = run_numpy(lambda ps: gd.Momentum(ps, lr=lr, beta=beta))
    params = [p.copy() for p in INITIAL]
    velocity = [np.zeros_like(p) for p in params]
    for _ in range(STEPS):
        for p, v, g in zip(params, velocity, numpy_grads(params)):
            v *= beta
            v += (1 - beta) * g
            p -= lr / (1 - beta) * v
    for a, e, start in zip(numpy[-1], params, INITIAL):
        assert_close(a - start, e - start, "damped momentum", rtol=1e-9)


def test_parameter_groups_and_closure_match_torch_optim(device):
    """Groups with their own lr and weight decay, and a closure whose loss step() returns."""
    def groups(ps):
        return [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.003, "weight_decay": 0.1}]

    data = torch_data(device)
    runs = []
    for make in (lambda ps: torch_optim.Adam(groups(ps), lr=0.01),
                 lambda ps: torch.optim.Adam(groups(ps), lr=0.01)):
        params = [torch.tensor(p, device=device, requires_grad=True) for p in INITIAL]
        opt = make(params)
        losses = []

        def closure():
            opt.zero_grad()
            loss = model_loss(params, *data)
            loss.backward()
            return loss

        for _ in range(STEPS):
            losses.append(opt.step(closure).item())
        runs.append((losses, [p.detach().cpu().numpy() for p in params]))
    (ours, ours_params), (ref, ref_params) = runs
    assert_close(ours, ref, "closure losses")
    for a, e, start in zip(ours_params, ref_params, INITIAL):
        assert_close(a - start, e - start, "parameters")
    assert ours[-1] < 0.5 * ours[0]


def test_torch_path_skips_parameters_without_gradient(device):
    used = torch.ones(3, device=device, dtype=torch.float64, requires_grad=True)
    unused = torch.ones(2, device=device, dtype=torch.float64, requires_grad=True)
    opt = torch_optim.Momentum([used, unused], lr=0.1)
    used.grad = torch.full_like(used, 2.0)
    opt.step()
    assert torch.equal(unused, torch.ones_like(unused)) and unused not in opt.state
    assert torch.allclose(used, torch.full_like(used, 0.8)) and opt.state[used]["step"] == 1


def test_float32_torch_path_matches_torch_optim(device):
    """The benchmarks' setting: float32 Adam, same operations, so equal to float32 rounding."""
    g = torch.Generator().manual_seed(0)
    start = torch.randn(1000, generator=g)
    grads = [torch.randn(1000, generator=g) for _ in range(20)]
    results = []
    for cls in (torch_optim.Adam, torch.optim.Adam):
        p = start.clone().to(device).requires_grad_()
        opt = cls([p], lr=0.01)
        for grad in grads:
            p.grad = grad.to(device)
            opt.step()
        results.append(p.detach().cpu())
    assert results[0].dtype == torch.float32
    torch.testing.assert_close(results[0], results[1], rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------- state_dict round trips
NAMES = list(DEFAULTS)
HYPER = {"SGD": {}, "Momentum": {"beta": 0.8}, "Nesterov": {"beta": 0.8}, "Adagrad": {},
         "RMSprop": {"beta": 0.9}, "Adam": {"betas": (0.8, 0.9)}, "AdamW": {"betas": (0.8, 0.9)},
         "Adam-amsgrad": {"betas": (0.8, 0.9), "amsgrad": True},
         "AdamW-amsgrad": {"betas": (0.8, 0.9), "amsgrad": True}}


@given(name=st.sampled_from(NAMES), total=st.integers(1, 12), data=st.data(),
       scheduled=st.booleans())
def test_numpy_state_dict_round_trip_continues_identically(name, total, data, scheduled):
    split = data.draw(st.integers(0, total), label="split")
    lr = S.exponential(0.03, gamma=0.9) if scheduled else 0.03

    def make(ps):
        return gd_class(gd, name)(ps, lr=lr, weight_decay=0.01, **HYPER[name])

    straight, _ = run_numpy(make, steps=total)

    params = [p.copy() for p in INITIAL]
    opt = make(params)
    for _ in range(split):
        opt.step(numpy_grads(params))
    saved = opt.state_dict()
    saved_params = [p.copy() for p in params]
    before = copy.deepcopy(saved)
    opt.step(numpy_grads(params))            # later steps must not leak into what was saved
    assert_states_equal(saved, before)

    resumed = [p.copy() for p in saved_params]
    new = make(resumed)
    new.load_state_dict(saved)
    assert new.current_lr == opt_lr_at(lr, split)
    for _ in range(total - split):
        new.step(numpy_grads(resumed))
    assert_states_equal(saved, before)       # loading copies: training on leaves it alone
    final = straight[-1]
    for a, e in zip(resumed, final):
        np.testing.assert_array_equal(a, e)
    assert new.steps == total


def opt_lr_at(lr, t):
    return lr(t) if callable(lr) else lr


def assert_states_equal(a, b):
    assert a["steps"] == b["steps"]
    assert len(a["state"]) == len(b["state"])
    for sa, sb in zip(a["state"], b["state"]):
        assert sa.keys() == sb.keys()
        for key in sa:
            np.testing.assert_array_equal(sa[key], sb[key])


@pytest.mark.parametrize("name", NAMES)
def test_numpy_load_own_state_dict_changes_nothing(name):
    params = [p.copy() for p in INITIAL]
    opt = gd_class(gd, name)(params, lr=0.01, **HYPER[name])
    for _ in range(3):
        opt.step(numpy_grads(params))
    before = opt.state_dict()
    opt.load_state_dict(opt.state_dict())
    assert_states_equal(opt.state_dict(), before)


def torch_steps(opt, params, batch, steps):
    """``steps`` ordinary PyTorch training steps of ``opt`` on ``model_loss``."""
    for _ in range(steps):
        opt.zero_grad()
        model_loss(params, *batch).backward()
        opt.step()


@given(name=st.sampled_from(NAMES), total=st.integers(1, 12), data=st.data(),
       scheduled=st.booleans())
def test_torch_state_dict_round_trip_continues_identically(device, name, total, data, scheduled):
    split = data.draw(st.integers(0, total), label="split")
    lr = S.exponential(0.03, gamma=0.9) if scheduled else 0.03
    batch = torch_data(device)

    def make(ps):
        return gd_class(torch_optim, name)(ps, lr=lr, weight_decay=0.01, **HYPER[name])

    def train(opt, params, steps):
        torch_steps(opt, params, batch, steps)

    straight = [torch.tensor(p, device=device, requires_grad=True) for p in INITIAL]
    train(make(straight), straight, total)

    params = [torch.tensor(p, device=device, requires_grad=True) for p in INITIAL]
    opt = make(params)
    train(opt, params, split)
    # a checkpoint: deep copies, as torch.save/torch.load would give
    saved_state = copy.deepcopy(opt.state_dict())
    saved_params = [p.detach().clone() for p in params]

    resumed = [p.clone().requires_grad_() for p in saved_params]
    new = make(resumed)
    new.load_state_dict(saved_state)
    assert new.state_dict()["state"].keys() == opt.state_dict()["state"].keys()
    train(new, resumed, total - split)
    for a, e in zip(resumed, straight):
        assert torch.equal(a, e)
    if split:
        assert all(new.state[p]["step"] == total for p in resumed)


def test_torch_save_and_load_of_a_scheduled_optimiser_continue_identically(device, tmp_path):
    """A checkpoint through torch.save/torch.load (pickling the Schedule, loaded with
    torch's default weights_only=True) resumes exactly where the run left off."""
    lr = S.warmup(S.cosine(0.05, total_steps=10, min_lr=0.01), warmup_steps=3)
    batch = torch_data(device)

    def run(params, opt, steps):
        torch_steps(opt, params, batch, steps)

    straight = [torch.tensor(p, device=device, requires_grad=True) for p in INITIAL]
    run(straight, torch_optim.Adam(straight, lr=lr), 8)
    params = [torch.tensor(p, device=device, requires_grad=True) for p in INITIAL]
    opt = torch_optim.Adam(params, lr=lr)
    run(params, opt, 4)
    torch.save({"opt": opt.state_dict(), "params": [p.detach() for p in params]},
               tmp_path / "checkpoint.pt")
    saved = torch.load(tmp_path / "checkpoint.pt")
    resumed = [p.clone().requires_grad_() for p in saved["params"]]
    new = torch_optim.Adam(resumed, lr=0.1)
    new.load_state_dict(saved["opt"])
    assert repr(new.param_groups[0]["lr"]) == repr(lr)
    run(resumed, new, 4)
    for a, e in zip(resumed, straight):
        assert torch.equal(a, e)


def test_add_param_group_reads_a_generator_once(device):
    first = torch.zeros(2, dtype=torch.float64, device=device, requires_grad=True)
    extra = [torch.zeros(3, dtype=torch.float64, device=device, requires_grad=True)
             for _ in range(2)]
    opt = torch_optim.SGD([first], lr=0.1)
    group = {"params": (p for p in extra), "lr": 0.5}
    opt.add_param_group(group)
    assert group["params"] == opt.param_groups[1]["params"] and len(group["params"]) == 2
    for p in extra:
        p.grad = torch.ones_like(p)
    opt.step()
    for p in extra:
        assert torch.equal(p, torch.full_like(p, -0.5))


def test_numpy_path_accepts_a_single_array_and_counts_steps():
    theta = np.array([1.0, -2.0])
    opt = gd.SGD(theta, lr=0.5)
    opt.step(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(theta, [0.5, -2.5])
    assert opt.steps == 1 and opt.state == [{}]
    assert math.isclose(opt.current_lr, 0.5)


# ------------------------------------------------ large arrays on the NumPy path
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("layout", ["C", "F"])
def test_numpy_path_on_large_arrays_equals_the_rule_on_whole_arrays(name, layout):
    """The NumPy optimisers apply elementwise rules block by block on large arrays
    (for speed); the result must be bitwise that of the rule on the whole array."""
    from gdcore import optim, rules
    rng = np.random.default_rng(5)
    shape = (3, optim.BLOCK // 2 + 37)          # 1.5 blocks and a ragged end
    theta = np.asarray(rng.standard_normal(shape).astype(np.float32), order=layout)
    reference = theta.copy(order=layout)
    cls = gd_class(gd, name)
    opt = cls(theta, lr=S.exponential(0.01, gamma=0.9), weight_decay=0.01, **HYPER[name])
    state = rules.init_state(cls, reference, opt.hyper)
    for t in range(4):
        grad = np.asarray(rng.standard_normal(shape).astype(np.float32), order=layout)
        opt.step(grad)
        rules.apply_update(cls, reference, grad, state, 0.01 * 0.9 ** t, t + 1, 0.01,
                           opt.hyper)
    np.testing.assert_array_equal(theta, reference)
    for key in state:
        np.testing.assert_array_equal(opt.state[0][key], state[key])


def test_rule_that_is_not_elementwise_sees_whole_arrays():
    from gdcore import optim, rules

    class NormalisedGD(rules.Rule, gd.Optimizer):
        """theta <- theta - lr * g / ||g||: couples all entries through the norm."""

        elementwise = False

        @staticmethod
        def update(param, grad, state, lr, t):
            param -= lr * grad / np.linalg.norm(grad)

    theta = np.zeros(3 * optim.BLOCK)
    NormalisedGD(theta, lr=1.0).step(np.ones_like(theta))
    np.testing.assert_allclose(theta, -1 / np.sqrt(theta.size))


# ------------------------------------------------- found by the fuzz of issue 8
@pytest.mark.parametrize("weight", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_numpy_lerp_equals_torch_lerp_and_is_exact_at_weight_one(weight):
    from gdcore import backend
    start, end = np.array([100.0, -3.0, 1e-300]), np.array([1e-15, 7.0, 2.0])
    expected = torch.lerp(torch.tensor(start), torch.tensor(end), weight).numpy()
    np.testing.assert_allclose(backend.lerp_(start.copy(), end, weight), expected,
                               rtol=1e-15, atol=1e-13)   # torch fuses a multiply-add
    if weight == 1.0:
        np.testing.assert_array_equal(backend.lerp_(start.copy(), end, weight), end)


def test_adam_without_averaging_keeps_the_last_gradient_exactly():
    """betas = (0, 0): m is the last gradient, 1e-15 after 100, as in torch.optim."""
    theta, p = np.zeros(1), torch.zeros(1, dtype=torch.float64, requires_grad=True)
    ours, ref = gd.Adam(theta, lr=0.1, betas=(0.0, 0.0)), torch.optim.Adam([p], lr=0.1,
                                                                            betas=(0.0, 0.0))
    for g in (100.0, 1e-15):
        ours.step(np.array([g]))
        p.grad = torch.tensor([g], dtype=torch.float64)
        ref.step()
    assert ours.state[0]["exp_avg"][0] == ref.state[p]["exp_avg"].item() == 1e-15
    np.testing.assert_allclose(theta, p.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["Adam", "RMSprop", "Adagrad", "Momentum"])
def test_float16_gradients_of_float64_parameters_are_computed_in_float64(name):
    """g * g = 90,000 overflows float16 (max 65,504); the step must not see that."""
    grads = [np.array([300.0, -2.0, 0.001]), np.array([-250.0, 1e-3, 400.0])]
    thetas = []
    for dtype in (np.float16, np.float64):
        theta = np.zeros(3)
        opt = getattr(gd, name)(theta, lr=0.01)
        for g in grads:
            opt.step(g.astype(dtype))
        thetas.append(theta)
    exact = [g.astype(np.float16).astype(np.float64) for g in grads]   # the values given
    theta = np.zeros(3)
    opt = getattr(gd, name)(theta, lr=0.01)
    for g in exact:
        opt.step(g)
    np.testing.assert_array_equal(thetas[0], theta)
    assert np.all(np.abs(thetas[0]) > 1e-4)          # every coordinate moved


def test_named_parameters_are_accepted_like_torch_optim():
    runs = []
    for cls in (torch_optim.Adam, torch.optim.Adam):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(),
                                    torch.nn.Linear(3, 1)).double()
        opt = cls(model.named_parameters(), lr=0.01)
        x, y = torch_data("cpu")
        for _ in range(5):
            opt.zero_grad()
            ((model(x)[:, 0] - y) ** 2).mean().backward()
            opt.step()
        runs.append((opt.param_groups[0]["param_names"], [p.detach() for p in model.parameters()]))
    (names, ours), (ref_names, ref) = runs
    assert names == ref_names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for a, e in zip(ours, ref):
        torch.testing.assert_close(a, e, rtol=1e-12, atol=1e-14)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU besides the CPU")
def test_parameters_on_two_devices_step_and_refuse_nan():
    ps = [torch.ones(3, dtype=torch.float64, requires_grad=True),
          torch.ones(2, dtype=torch.float64, device="cuda", requires_grad=True)]
    opt = torch_optim.Adam(ps, lr=0.1)
    for p in ps:
        p.grad = torch.ones_like(p)
    opt.step()
    ps[1].grad[0] = float("nan")
    with pytest.raises(ValueError, match="^grads"):
        opt.step()
    assert all(opt.state[p]["step"] == 1 for p in ps)


# Implementation switches of torch.optim, not hyperparameters of the method.
SWITCHES = {"foreach", "fused", "capturable", "differentiable"}


@pytest.mark.parametrize("name", DEFAULTS)
def test_param_groups_carry_torch_optim_hyperparameters(name):
    gd_kwargs, torch_cls, torch_kwargs = DEFAULTS[name]
    ours = gd_class(torch_optim, name)([torch.zeros(2, requires_grad=True)], **gd_kwargs)
    ref = torch_cls([torch.zeros(2, requires_grad=True)], **torch_kwargs)
    (group,), (ref_group,) = ours.param_groups, ref.param_groups
    for key in set(ref_group) - SWITCHES - {"params"}:
        assert key in group, f"{name}'s param group lacks torch.optim's {key!r}"
        assert group[key] == ref_group[key], key


ONE_CYCLE = {"Momentum": ({}, torch.optim.SGD, {"momentum": 0.9}),
             "Nesterov": ({}, torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
             "Adam-amsgrad": DEFAULTS["Adam-amsgrad"], "AdamW": DEFAULTS["AdamW"]}


@pytest.mark.parametrize("name", ONE_CYCLE)
def test_one_cycle_with_cycled_momentum_matches_torch_optim(name, device):
    gd_kwargs, torch_cls, torch_kwargs = ONE_CYCLE[name]

    def scheduler(opt):
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=STEPS,
                                                   cycle_momentum=True)

    ref, *_ = run_torch(lambda ps: torch_cls(ps, lr=0.01, **torch_kwargs), device, scheduler)
    ours, opt, _ = run_torch(lambda ps: gd_class(torch_optim, name)(ps, lr=0.01, **gd_kwargs),
                             device, scheduler)
    assert_same_trajectory(ours, ref, f"{name} under OneCycleLR")
    momentum = opt.param_groups[0].get("momentum", opt.param_groups[0].get("betas", [None])[0])
    assert abs(momentum - 0.95) < 1e-3      # the scheduler cycled it (0.95 -> 0.85 -> 0.95)


@pytest.mark.parametrize("name", DEFAULTS)
@pytest.mark.parametrize("direction", ["gdcore to torch.optim", "torch.optim to gdcore"])
def test_state_dict_loads_into_the_torch_optim_counterpart(name, direction, device):
    """Train 6 steps with one, continue 6 with the other from its state dict:
    the parameters equal those of 12 steps of torch.optim alone."""
    gd_kwargs, torch_cls, torch_kwargs = DEFAULTS[name]
    lr = 0.01
    make_gd = lambda ps: gd_class(torch_optim, name)(ps, lr=lr, weight_decay=0.01,  # noqa: E731
                                                      **gd_kwargs)
    make_ref = lambda ps: torch_cls(ps, lr=lr, weight_decay=0.01, **torch_kwargs)  # noqa: E731
    first, second = (make_gd, make_ref) if direction.startswith("gdcore") else (make_ref, make_gd)
    batch = torch_data(device)
    straight = [torch.tensor(p, device=device, requires_grad=True) for p in INITIAL]
    torch_steps(make_ref(straight), straight, batch, 12)
    params = [torch.tensor(p, device=device, requires_grad=True) for p in INITIAL]
    opt = first(params)
    torch_steps(opt, params, batch, 6)
    saved = copy.deepcopy(opt.state_dict())
    new = second(params)
    new.load_state_dict(saved)
    torch_steps(new, params, batch, 6)
    for a, e, start in zip(params, straight, INITIAL):
        assert_close(a.detach().cpu().numpy() - start, e.detach().cpu().numpy() - start,
                     f"{name}, {direction}")


# ------------------------------------------------ foreach: all of a group's tensors at once
def assert_identical_trajectory(actual, expected, label):
    for t, (params_a, params_e) in enumerate(zip(actual, expected)):
        for i, (a, e) in enumerate(zip(params_a, params_e)):
            np.testing.assert_array_equal(a, e, err_msg=f"{label}, step {t + 1}, parameter {i}")


@pytest.mark.parametrize("name", NON_DEFAULTS)
def test_foreach_equals_the_per_tensor_path_and_torch_optim(name, device):
    """Same rule code on TensorLists: bitwise the per-tensor result on the CPU (the
    foreach ops run the same kernels tensor by tensor), to rounding on a GPU."""
    gd_kwargs, schedule, torch_cls, torch_kwargs = NON_DEFAULTS[name]
    runs = {}
    for foreach in (False, True):
        runs[foreach], opt, _ = run_torch(
            lambda ps: gd_class(torch_optim, name)(ps, lr=schedule, foreach=foreach, **gd_kwargs),
            device, steps=40)
        assert opt.param_groups[0]["foreach"] is foreach
    if device == "cpu":
        assert_identical_trajectory(runs[True], runs[False], f"{name} foreach vs per tensor")
    else:
        assert_same_trajectory(runs[True], runs[False], f"{name} foreach vs per tensor")
    lr0 = base_lr(schedule)
    ref, *_ = run_torch(lambda ps: torch_cls(ps, lr=lr0, **torch_kwargs), device,
                        torch_scheduler(schedule), steps=40)
    assert_same_trajectory(runs[True], ref, f"{name} foreach vs torch.optim")


@pytest.mark.parametrize("name, switch", [
    ("Adam-amsgrad", "foreach"), ("Momentum", "foreach"), ("RMSprop", "foreach"),
    pytest.param("AdamW", "fused", marks=pytest.mark.slow),
    pytest.param("Momentum", "fused", marks=pytest.mark.slow)])
def test_foreach_or_fused_with_groups_and_unequal_step_counts_equals_torch_optim(name, switch,
                                                                                 device):
    """Two groups (one foreach or fused, one not), and a tensor that skips every third step,
    so that a group holds tensors at different step counts (and bias corrections)."""
    gd_kwargs, torch_cls, torch_kwargs = DEFAULTS[name]
    batch = torch_data(device)
    results = []
    for make in (lambda g: gd_class(torch_optim, name)(g, lr=0.01, **{switch: True}, **gd_kwargs),
                 lambda g: torch_cls(g, lr=0.01, **torch_kwargs)):
        params = [torch.tensor(p, device=device, requires_grad=True) for p in INITIAL]
        opt = make([{"params": params[:2]},
                    {"params": params[2:], "lr": 0.003, "weight_decay": 0.1, switch: False}])
        for step in range(30):
            opt.zero_grad()
            model_loss(params, *batch).backward()
            if step % 3 == 2:
                params[1].grad = None                      # b skips this step
            opt.step()
        results.append([p.detach().cpu().numpy() for p in params])
    for a, e, start in zip(*results, INITIAL):
        assert_close(a - start, e - start, f"{name} with groups")


def test_foreach_option_is_checked():
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="^foreach must be None, True or False"):
        torch_optim.Adam([p], foreach="yes")
    with pytest.raises(TypeError, match="^fused must be None, True or False"):
        torch_optim.Adam([p], fused=1)
    with pytest.raises(TypeError, match="^foreach is not an option of Adam"):
        gd.Adam(np.zeros(2), foreach=True)                 # the NumPy path has no such switch


@pytest.mark.slow
def test_fused_compiled_rule_matches_the_per_tensor_path_and_torch_optim(device):
    """fused=True: the group's update compiled by torch.compile (the first step compiles),
    under a schedule: to a few units in the last place the per-tensor path's numbers."""
    name = "Adam-amsgrad"          # lerp_, addcmul_, maximum, sqrt, addcdiv_: most of backend
    gd_kwargs, schedule, torch_cls, torch_kwargs = NON_DEFAULTS[name]
    runs = {}
    for fused in (False, True):
        runs[fused], opt, _ = run_torch(
            lambda ps: gd_class(torch_optim, name)(ps, lr=schedule, fused=fused, **gd_kwargs),
            device, steps=40)
        assert opt.param_groups[0]["fused"] is fused
    for t, (fused_params, plain_params) in enumerate(zip(runs[True], runs[False])):
        for i, (a, e) in enumerate(zip(fused_params, plain_params)):
            np.testing.assert_allclose(a, e, rtol=1e-14, atol=1e-15,
                                       err_msg=f"fused vs per tensor, step {t + 1}, param {i}")
    ours = runs[True]
    ref, *_ = run_torch(lambda ps: torch_cls(ps, lr=base_lr(schedule), **torch_kwargs), device,
                        torch_scheduler(schedule), steps=40)
    assert_same_trajectory(ours, ref, f"{name} fused (compiled) vs torch.optim")


def test_fused_and_foreach_cannot_both_be_true():
    p = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=r"^param_group: foreach and fused cannot both be True"):
        torch_optim.Adam([p], foreach=True, fused=True)
