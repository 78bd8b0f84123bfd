"""Bad input: the right exception, a message that starts with the argument's
name, and nothing changed (parameters, optimiser state, step counts).

Each case builds fresh objects, most of them an optimiser that has already
taken a few steps (so its state is not all zeros), snapshots everything the
call could touch, makes the bad call, and compares.
"""
import copy
import inspect
import re

import numpy as np
import pytest

import gdcore as gd

torch = pytest.importorskip("torch")
from gdcore import torch_optim  # noqa: E402  (needs torch)


# ------------------------------------------------------------------ snapshots
def snapshot(obj):
    """A deep, comparable copy of what a call could mutate."""
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    if isinstance(obj, gd.Optimizer):
        return {"params": [p.copy() for p in obj.params], "state": copy.deepcopy(obj.state),
                "steps": obj.steps, "lr": obj.lr, "hyper": dict(obj.hyper)}
    if isinstance(obj, torch.optim.Optimizer):
        return {"params": [p.detach().clone() for g in obj.param_groups for p in g["params"]],
                "groups": [{k: v for k, v in g.items() if k != "params"}
                           for g in obj.param_groups],
                "state": {id(p): copy.deepcopy(s) for p, s in obj.state.items()}}
    if isinstance(obj, gd.Batches):
        return copy.deepcopy(obj.__dict__)
    raise TypeError(type(obj))


def assert_equal(a, b, where="value"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_equal(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_equal(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), f"{where} changed"
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=f"{where} changed")
    elif isinstance(a, np.random.Generator):
        assert a.bit_generator.state == b.bit_generator.state, where
    elif isinstance(a, torch.Generator):
        assert torch.equal(a.get_state(), b.get_state()), where
    else:
        assert a == b, f"{where} changed: {a!r} -> {b!r}"


# ------------------------------------------------------------------- fixtures
def params():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((3, 2)), rng.standard_normal(2)]


def grads_like(ps, scale=1.0):
    return [scale * np.ones_like(p) for p in ps]


def stepped_numpy(cls=gd.Adam, **kwargs):
    """A NumPy optimiser after three steps, so its state is not zero."""
    ps = params()
    opt = cls(ps, lr=0.1, **kwargs)
    for k in range(3):
        opt.step(grads_like(ps, k + 1.0))
    return opt


def torch_params(device="cpu"):
    return [torch.tensor(p, device=device, requires_grad=True) for p in params()]


def stepped_torch(cls=torch_optim.Adam, device="cpu", **kwargs):
    """A torch-path optimiser after three steps, its parameters holding fresh gradients."""
    ps = torch_params(device)
    opt = cls(ps, lr=0.1, **kwargs)
    for k in range(3):
        for p in ps:
            p.grad = torch.full_like(p, k + 1.0)
        opt.step()
    return opt, ps


X_OK, Y_OK = np.ones((5, 2)), np.arange(5.0)
LINREG = gd.LinearRegression(X_OK, Y_OK)


# ----------------------------------------------------------------- the table
# Each case returns (call, objects the call must not change).
def lr_zero():
    ps = params()
    return (lambda: gd.SGD(ps, lr=0)), ps


def lr_nan():
    ps = params()
    return (lambda: gd.Adam(ps, lr=float("nan"))), ps


def lr_bool():
    ps = params()
    return (lambda: gd.Momentum(ps, lr=True)), ps


def torch_lr_negative(device):
    ps = torch_params(device)
    return (lambda: torch_optim.SGD(ps, lr=-0.1)), ps


def torch_lr_nan(device):
    ps = torch_params(device)
    return (lambda: torch_optim.Adam(ps, lr=float("nan"))), ps


def torch_lr_bool(device):
    ps = torch_params(device)
    return (lambda: torch_optim.RMSprop(ps, lr=True)), ps


def torch_group_lr_nan(device):
    opt, ps = stepped_torch(device=device)
    extra = torch.zeros(4, dtype=torch.float64, device=device, requires_grad=True)
    return (lambda: opt.add_param_group({"params": [extra], "lr": float("nan")})), [opt, extra]


def schedule_lr_negative():
    return (lambda: gd.schedules.cosine(-0.1, total_steps=10)), []


def betas_one():
    ps = params()
    return (lambda: gd.Adam(ps, betas=(0.9, 1.0))), ps


def betas_negative_torch(device):
    ps = torch_params(device)
    return (lambda: torch_optim.AdamW(ps, betas=(-0.1, 0.999))), ps


def betas_not_a_pair():
    ps = params()
    return (lambda: gd.Adam(ps, betas=0.9)), ps


def eps_negative():
    ps = params()
    return (lambda: gd.RMSprop(ps, eps=-1e-8)), ps


def weight_decay_negative():
    ps = params()
    return (lambda: gd.SGD(ps, lr=0.1, weight_decay=-0.01)), ps


def weight_decay_nan_torch(device):
    ps = torch_params(device)
    return (lambda: torch_optim.Adagrad(ps, weight_decay=float("nan"))), ps


def beta_one():
    ps = params()
    return (lambda: gd.Momentum(ps, lr=0.1, beta=1.0)), ps


def beta_nan_torch(device):
    ps = torch_params(device)
    return (lambda: torch_optim.Nesterov(ps, lr=0.1, beta=float("nan"))), ps


def batch_size_zero():
    return (lambda: gd.Batches(10, 0)), []


def batch_size_too_large():
    return (lambda: gd.Batches(10, 11)), []


def batch_size_too_large_drop_last():
    return (lambda: gd.Batches(10, 11, drop_last=True)), []


def batch_size_too_large_in_fit():
    opt = gd.SGD(np.zeros(3), lr=0.1)
    return (lambda: gd.fit(LINREG, opt, steps=3, batch_size=6)), [opt]


def empty_data_batches():
    return (lambda: gd.Batches(0)), []


def empty_data_problem():
    return (lambda: gd.LinearRegression(np.empty((0, 2)), np.empty(0))), []


def grad_shape_mismatch():
    opt = stepped_numpy()
    return (lambda: opt.step([np.ones((2, 3)), np.ones(2)])), [opt]


def grad_count_mismatch():
    opt = stepped_numpy()
    return (lambda: opt.step([np.ones((3, 2))])), [opt]


def grad_nan_numpy():
    opt = stepped_numpy(gd.Momentum)
    grads = grads_like(opt.params)
    grads[1][0] = np.nan               # only the second parameter's gradient
    return (lambda: opt.step(grads)), [opt]


def grad_inf_numpy():
    opt = stepped_numpy(gd.Adagrad)
    grads = grads_like(opt.params)
    grads[0][2, 1] = -np.inf
    return (lambda: opt.step(grads)), [opt]


def grad_int_numpy():
    opt = stepped_numpy(gd.SGD)
    return (lambda: opt.step([np.ones((3, 2), dtype=int), np.ones(2, dtype=int)])), [opt]


def grad_nan_torch(device):
    opt, ps = stepped_torch(device=device)
    ps[0].grad = torch.ones_like(ps[0])
    ps[1].grad = torch.tensor([0.5, float("nan")], dtype=torch.float64, device=device)
    return (lambda: opt.step()), [opt]


def grad_inf_torch_fresh_state(device):
    ps = torch_params(device)
    opt = torch_optim.Adam(ps, lr=0.1)          # no step yet: state must stay empty
    ps[0].grad = torch.full_like(ps[0], float("inf"))
    ps[1].grad = torch.ones_like(ps[1])
    return (lambda: opt.step()), [opt]


def grad_sparse_torch(device):
    opt, ps = stepped_torch(torch_optim.SGD, device)
    ps[0].grad = torch.ones_like(ps[0])          # the dense one comes first
    ps[1].grad = torch.ones_like(ps[1]).to_sparse()
    return (lambda: opt.step()), [opt]


def int_params_numpy():
    p = np.arange(3)
    return (lambda: gd.SGD(p, lr=0.1)), [p]


def int_params_torch(device):
    p = torch.arange(3, device=device)
    return (lambda: torch_optim.SGD([p], lr=0.1)), [p]


def no_params():
    return (lambda: gd.Adam([])), []


def int_X():
    X = np.ones((4, 2), dtype=int)
    return (lambda: gd.LinearRegression(X, np.ones(4))), [X]


def y_mismatch():
    return (lambda: gd.LinearRegression(np.ones((4, 2)), np.ones(3))), []


def unknown_schedule():
    return (lambda: gd.schedules.make("cosine_annealing", 0.1, total_steps=10)), []


def schedule_negative_t():
    schedule = gd.schedules.constant(0.1)
    return (lambda: schedule(-1)), []


def unknown_order():
    return (lambda: gd.Batches(10, 2, order="random")), []


def theta_wrong_shape():
    theta = np.zeros(2)
    return (lambda: LINREG.loss(theta)), [theta]


def theta_wrong_shape_grad():
    theta = np.zeros((3, 1))
    return (lambda: LINREG.grad(theta)), [theta]


def theta_int():
    theta = np.zeros(3, dtype=int)
    return (lambda: LINREG.grad(theta)), [theta]


def empty_idx():
    theta = np.zeros(3)
    return (lambda: LINREG.grad(theta, np.array([], dtype=int))), [theta]


def idx_without_data():
    theta = np.zeros(2)
    return (lambda: gd.Rosenbrock().grad(theta, np.array([0]))), [theta]


def fit_without_budget():
    opt = gd.SGD(np.zeros(3), lr=0.1)
    return (lambda: gd.fit(LINREG, opt)), [opt]


def fit_wrong_shape():
    opt = gd.SGD(np.zeros(4), lr=0.1)
    return (lambda: gd.fit(LINREG, opt, steps=3)), [opt]


def fit_batches_without_data():
    opt = gd.SGD(np.zeros(2), lr=0.1)
    return (lambda: gd.fit(gd.Rosenbrock(), opt, steps=3, batch_size=2)), [opt]


def load_mismatched_state():
    opt = stepped_numpy()
    other = gd.Adam([np.zeros(5)], lr=0.1).state_dict()
    return (lambda: opt.load_state_dict(other)), [opt]


def finite_difference_h_zero():
    theta = np.ones(2)
    return (lambda: gd.numerical_gradient(lambda th: float(th.sum()), theta, h=0.0)), [theta]


def finite_difference_method():
    theta = np.ones(2)
    return (lambda: gd.numerical_gradient(lambda th: 0.0, theta, method="backward")), [theta]


def y_list():
    return (lambda: gd.LinearRegression(np.ones((4, 2)), [1.0, 2.0, 3.0, 4.0])), []


def logistic_plus_minus_one_labels(device):
    X = torch.ones((4, 2), dtype=torch.float64, device=device)
    y = torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=torch.float64, device=device)
    return (lambda: gd.LogisticRegression(X, y)), [X, y]


def logistic_labels_list():
    return (lambda: gd.LogisticRegression(np.ones((4, 2)), [0, 1, 0, 1])), []


def softmax_label_too_large(device):
    X = torch.ones((4, 2), dtype=torch.float64, device=device)
    y = torch.tensor([0, 1, 2, 3], device=device)
    return (lambda: gd.SoftmaxRegression(X, y, n_classes=3)), [X, y]


def softmax_negative_label():
    y = np.array([0, 1, -1, 2])
    return (lambda: gd.SoftmaxRegression(np.ones((4, 2)), y)), [y]


def softmax_float_labels():
    return (lambda: gd.SoftmaxRegression(np.ones((4, 2)), np.array([0.0, 1.0, 2.0, 1.0]))), []


def softmax_n_classes_zero():
    return (lambda: gd.SoftmaxRegression(np.ones((4, 2)), np.array([0, 0, 0, 0]),
                                         n_classes=0)), []


def quadratic_kappa_in_one_dimension():
    return (lambda: gd.Quadratic.with_condition(10, dim=1)), []


def quadratic_not_square(device):
    A = torch.ones((2, 3), dtype=torch.float64, device=device)
    return (lambda: gd.Quadratic(A)), [A]


def quadratic_not_symmetric():
    A = np.array([[1.0, 2.0], [0.0, 1.0]])
    return (lambda: gd.Quadratic(A)), [A]


def quadratic_b_list():
    return (lambda: gd.Quadratic(np.eye(2), [1.0, 2.0])), []


def standardize_tensor(device):
    X = torch.rand((5, 2), dtype=torch.float64, device=device)
    return (lambda: gd.standardize(X)), [X]


def finite_difference_tensor(device):
    theta = torch.ones(2, dtype=torch.float64, device=device)
    return (lambda: gd.numerical_gradient(lambda th: float(th.sum()), theta)), [theta]


def int_X_tensor(device):
    X = torch.ones((4, 2), dtype=torch.int64, device=device)
    return (lambda: gd.LinearRegression(X, torch.ones(4, device=device))), [X]


CASES = [
    # (case, exception type, the argument the message must start with)
    (lr_zero, ValueError, "lr"),
    (lr_nan, ValueError, "lr"),
    (lr_bool, ValueError, "lr"),
    (torch_lr_negative, ValueError, "lr"),
    (torch_lr_nan, ValueError, "lr"),
    (torch_lr_bool, ValueError, "lr"),
    (torch_group_lr_nan, ValueError, "lr"),
    (schedule_lr_negative, ValueError, "lr"),
    (betas_one, ValueError, "betas"),
    (betas_negative_torch, ValueError, "betas"),
    (betas_not_a_pair, ValueError, "betas"),
    (eps_negative, ValueError, "eps"),
    (weight_decay_negative, ValueError, "weight_decay"),
    (weight_decay_nan_torch, ValueError, "weight_decay"),
    (beta_one, ValueError, "beta"),
    (beta_nan_torch, ValueError, "beta"),
    (batch_size_zero, ValueError, "batch_size"),
    (batch_size_too_large, ValueError, "batch_size"),
    (batch_size_too_large_drop_last, ValueError, "batch_size"),
    (batch_size_too_large_in_fit, ValueError, "batch_size"),
    (empty_data_batches, ValueError, "n"),
    (empty_data_problem, ValueError, "X"),
    (grad_shape_mismatch, ValueError, "grads"),
    (grad_count_mismatch, ValueError, "grads"),
    (grad_nan_numpy, ValueError, "grads"),
    (grad_inf_numpy, ValueError, "grads"),
    (grad_int_numpy, TypeError, "grads"),
    (grad_nan_torch, ValueError, "grads"),
    (grad_inf_torch_fresh_state, ValueError, "grads"),
    (grad_sparse_torch, TypeError, "grads"),
    (int_params_numpy, TypeError, "params"),
    (int_params_torch, TypeError, "params"),
    (no_params, ValueError, "params"),
    (int_X, TypeError, "X"),
    (y_mismatch, ValueError, "y"),
    (unknown_schedule, ValueError, "name"),
    (schedule_negative_t, ValueError, "t"),
    (unknown_order, ValueError, "order"),
    (theta_wrong_shape, ValueError, "theta"),
    (theta_wrong_shape_grad, ValueError, "theta"),
    (theta_int, TypeError, "theta"),
    (empty_idx, ValueError, "idx"),
    (idx_without_data, ValueError, "idx"),
    (fit_without_budget, ValueError, "steps"),
    (fit_wrong_shape, ValueError, "optimizer"),
    (fit_batches_without_data, ValueError, "batch_size"),
    (load_mismatched_state, ValueError, "state_dict"),
    (finite_difference_h_zero, ValueError, "h"),
    (finite_difference_method, ValueError, "method"),
    (y_list, TypeError, "y"),
    (logistic_plus_minus_one_labels, ValueError, "y"),
    (logistic_labels_list, TypeError, "y"),
    (softmax_label_too_large, ValueError, "y"),
    (softmax_negative_label, ValueError, "y"),
    (softmax_float_labels, TypeError, "y"),
    (softmax_n_classes_zero, ValueError, "n_classes"),
    (quadratic_kappa_in_one_dimension, ValueError, "kappa"),
    (quadratic_not_square, ValueError, "A"),
    (quadratic_not_symmetric, ValueError, "A"),
    (quadratic_b_list, TypeError, "b"),
    (standardize_tensor, TypeError, "X"),
    (finite_difference_tensor, TypeError, "theta"),
    (int_X_tensor, TypeError, "X"),
]


def check_rejected(call, watched, error, argument):
    before = [snapshot(obj) for obj in watched]
    with pytest.raises(error) as excinfo:
        call()
    assert type(excinfo.value) is error
    message = str(excinfo.value)
    assert re.match(rf"{re.escape(argument)}\b", message), (
        f"the message should start with {argument!r}: {message!r}")
    for i, (obj, old) in enumerate(zip(watched, before)):
        assert_equal(snapshot(obj), old, f"watched object {i} ({type(obj).__name__})")


def test_torch_nan_gradient_leaves_params_and_state_untouched_then_steps(device):
    """After a refused step the same optimiser goes on exactly as an untouched twin."""
    runs = []
    for refuse_first in (True, False):
        opt, ps = stepped_torch(torch_optim.Adam, device)
        if refuse_first:
            good = [p.grad for p in ps]
            ps[1].grad = torch.full_like(ps[1], float("nan"))
            with pytest.raises(ValueError, match="^grads"):
                opt.step()
            for p, g in zip(ps, good):
                p.grad = g
        opt.step()
        runs.append(([p.detach().clone() for p in ps],
                     [opt.state[p]["step"] for p in ps]))
    (params_a, steps_a), (params_b, steps_b) = runs
    assert steps_a == steps_b == [4, 4]
    for a, b in zip(params_a, params_b):
        assert torch.equal(a, b)


def test_numpy_nan_gradient_then_good_step_equals_untouched_twin():
    opts = [stepped_numpy(gd.Nesterov), stepped_numpy(gd.Nesterov)]
    bad = grads_like(opts[0].params)
    bad[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="^grads"):
        opts[0].step(bad)
    for opt in opts:
        opt.step(grads_like(opt.params, 0.5))
    for a, b in zip(*(opt.params for opt in opts)):
        np.testing.assert_array_equal(a, b)
    assert opts[0].steps == opts[1].steps == 4


@pytest.mark.parametrize("case, wording", [
    (softmax_label_too_large, r"y has labels outside 0\.\.n_classes-1"),
    (quadratic_not_square, r"A must be square, got shape \(2, 3\)"),
    (quadratic_not_symmetric, r"A must be symmetric"),
    (logistic_plus_minus_one_labels, r"y must hold the labels 0 and 1"),
    (int_X_tensor, r"X has dtype torch\.int64.*X\.double\(\)"),
], ids=["softmax_label_too_large", "quadratic_not_square", "quadratic_not_symmetric",
        "logistic_plus_minus_one_labels", "int_X_tensor"])
def test_messages_say_what_is_wrong(case, wording, device):
    """Where one argument can be wrong in two ways, the message says which."""
    call, _ = case(device) if "device" in inspect.signature(case).parameters else case()
    with pytest.raises((ValueError, TypeError), match=wording) as excinfo:
        call()
    assert "astype" not in str(excinfo.value)   # NumPy's spelling, not a tensor's


def test_integer_array_message_suggests_astype():
    with pytest.raises(TypeError, match=r"X\.astype\(float\)"):
        gd.LinearRegression(np.ones((4, 2), dtype=int), np.ones(4))


# ------------------------------------------- optimiser, fit and schedule input
def grad_tensor_numpy():
    opt = stepped_numpy()
    return (lambda: opt.step([torch.ones(3, 2, dtype=torch.float64),
                              torch.ones(2, dtype=torch.float64)])), [opt]


def grad_one_tensor_numpy():
    opt = gd.Adam(np.zeros(3), lr=0.1)
    opt.step(np.ones(3))
    return (lambda: opt.step(torch.ones(3, dtype=torch.float64))), [opt]


def grad_list_of_numbers():
    opt = gd.Momentum(np.zeros(3), lr=0.1)
    opt.step(np.ones(3))
    return (lambda: opt.step([1.0, 2.0, 3.0])), [opt]


def read_only_params():
    p = np.zeros(3)
    p.flags.writeable = False
    return (lambda: gd.SGD([np.zeros(2), p], lr=0.1)), [p]


def lr_plain_function():
    ps = params()
    return (lambda: gd.SGD(ps, lr=lambda t: 0.1 / (t + 1))), ps


def torch_lr_plain_function(device):
    ps = torch_params(device)
    return (lambda: torch_optim.SGD(ps, lr=lambda t: 0.1)), ps


def torch_group_integer_tensor(device):
    opt, ps = stepped_torch(device=device)
    good = torch.zeros(2, dtype=torch.float64, device=device, requires_grad=True)
    bad = torch.arange(3, device=device)
    return (lambda: opt.add_param_group({"params": (p for p in [good, bad])})), [opt]


def torch_group_numpy_array(device):
    opt, ps = stepped_torch(device=device)
    return (lambda: opt.add_param_group({"params": [np.zeros(2)]})), [opt]


def fit_loss_tol_string():
    opt = gd.SGD(np.zeros(3), lr=0.1)
    return (lambda: gd.fit(LINREG, opt, steps=3, loss_tol="0.1")), [opt]


def fit_loss_tol_nan():
    opt = gd.SGD(np.zeros(3), lr=0.1)
    return (lambda: gd.fit(LINREG, opt, steps=3, loss_tol=float("nan"))), [opt]


def fit_grad_tol_negative():
    opt = gd.SGD(np.zeros(3), lr=0.1)
    return (lambda: gd.fit(LINREG, opt, steps=3, grad_tol=-1e-3)), [opt]


def fit_min_delta_negative():
    opt = gd.SGD(np.zeros(3), lr=0.1)
    return (lambda: gd.fit(LINREG, opt, steps=3, patience=2, min_delta=-0.1)), [opt]


def schedule_gamma_above_one():
    return (lambda: gd.schedules.step(0.1, step_size=5, gamma=1.5)), []


def amsgrad_string(device):
    ps = torch_params(device)
    return (lambda: torch_optim.AdamW(ps, amsgrad="yes")), ps


def amsgrad_number():
    ps = params()
    return (lambda: gd.Adam(ps, amsgrad=1)), ps


def warmup_steps_negative():
    return (lambda: gd.schedules.make("cosine", 0.1, total_steps=10, warmup_steps=-1)), []


# ------------------------------------------------- found by the fuzz of issue 8
def schedule_direct_negative_lr():
    return (lambda: gd.schedules.Schedule("cosine", lr=-0.1, total_steps=10)), []


def schedule_direct_nan_lr():
    return (lambda: gd.schedules.Schedule("constant", lr=float("nan"))), []


def schedule_direct_unknown_name():
    return (lambda: gd.schedules.Schedule("cosine_annealing", lr=0.1)), []


def schedule_direct_missing_parameter():
    return (lambda: gd.schedules.Schedule("cosine", lr=0.1)), []


def schedule_name_in_a_list():
    return (lambda: gd.schedules.make(["cosine"], 0.1, total_steps=10)), []


INF_RATE = dict(lr=1e300, gamma=1e10)       # 1e300 at step 0, inf from step 1 on


def schedule_rate_inf_numpy():
    ps = params()
    opt = gd.Adam(ps, lr=gd.schedules.exponential(**INF_RATE))
    opt.step(grads_like(ps, 1e-300))
    return (lambda: opt.step(grads_like(ps))), [opt]


def schedule_rate_inf_torch(device):
    ps = torch_params(device)
    opt = torch_optim.Momentum(ps, lr=gd.schedules.exponential(**INF_RATE))
    for p in ps:
        p.grad = torch.full_like(p, 1e-300)
    opt.step()
    return (lambda: opt.step()), [opt]


def grad_masked_nan():
    opt = stepped_numpy(gd.Momentum)
    grads = grads_like(opt.params)
    grads[1] = np.ma.array([1.0, np.nan], mask=[False, True])   # the mask hides the NaN
    return (lambda: opt.step(grads)), [opt]


def scalar_params_numpy():
    return (lambda: gd.SGD(0.5)), []


def scalar_params_torch(device):
    return (lambda: torch_optim.SGD(0.5)), []


def numpy_state(opt, **changes):
    """opt's state dict with ``changes`` made (a key set to ... is removed)."""
    saved = opt.state_dict()
    for key, value in changes.items():
        if value is ...:
            del saved[key]
        else:
            saved[key] = value
    return saved


def load_negative_steps():
    opt = stepped_numpy()
    return (lambda: opt.load_state_dict(numpy_state(opt, steps=-5))), [opt]


def load_fractional_steps():
    opt = stepped_numpy()
    return (lambda: opt.load_state_dict(numpy_state(opt, steps=2.7))), [opt]


def load_without_steps():
    opt = stepped_numpy()
    return (lambda: opt.load_state_dict(numpy_state(opt, steps=...))), [opt]


def load_int64_state():
    opt = stepped_numpy(gd.Momentum)
    saved = opt.state_dict()
    saved["state"][1]["momentum_buffer"] = np.ones(2, dtype=np.int64)   # the last parameter's
    return (lambda: opt.load_state_dict(saved)), [opt]


def load_state_lacking_an_array():
    opt = stepped_numpy()
    saved = opt.state_dict()
    del saved["state"][1]["exp_avg_sq"]
    return (lambda: opt.load_state_dict(saved)), [opt]


def load_torch_state_lacking_an_array(device):
    opt, ps = stepped_torch(device=device)
    saved = copy.deepcopy(opt.state_dict())
    del saved["state"][1]["exp_avg_sq"]
    return (lambda: opt.load_state_dict(saved)), [opt]


def load_torch_sgd_with_momentum_into_sgd(device):
    ps = torch_params(device)
    reference = torch.optim.SGD(ps, lr=0.1, momentum=0.9)
    opt = torch_optim.SGD(torch_params(device), lr=0.1)
    return (lambda: opt.load_state_dict(reference.state_dict())), [opt]


def group_with_nesterov_into_momentum(device):
    opt, ps = stepped_torch(torch_optim.Momentum, device)
    extra = torch.zeros(2, dtype=torch.float64, device=device, requires_grad=True)
    return (lambda: opt.add_param_group({"params": [extra], "nesterov": True})), [opt]


def batches_seed_string():
    return (lambda: gd.Batches(10, 2, seed="abc")), []


def batches_seed_negative():
    return (lambda: gd.Batches(10, 2, seed=-1)), []


def batches_seed_fraction():
    return (lambda: gd.Batches(10, 2, seed=1.5)), []


def batches_device_nonsense():
    return (lambda: gd.Batches(10, 2, device="nonsense")), []


def batches_of_a_scalar():
    batches = gd.Batches(10, 2, seed=0)
    return (lambda: next(batches.of(np.array(1.0)))), [batches]


FUZZ_CASES = [
    (schedule_direct_negative_lr, ValueError, "lr"),
    (schedule_direct_nan_lr, ValueError, "lr"),
    (schedule_direct_unknown_name, ValueError, "name"),
    (schedule_direct_missing_parameter, TypeError, "total_steps"),
    (schedule_name_in_a_list, ValueError, "name"),
    (schedule_rate_inf_numpy, ValueError, "lr"),
    (schedule_rate_inf_torch, ValueError, "lr"),
    (grad_masked_nan, TypeError, "grads"),
    (scalar_params_numpy, TypeError, "params"),
    (scalar_params_torch, TypeError, "params"),
    (load_negative_steps, ValueError, "state_dict"),
    (load_fractional_steps, ValueError, "state_dict"),
    (load_without_steps, ValueError, "state_dict"),
    (load_int64_state, TypeError, "state_dict"),
    (load_state_lacking_an_array, ValueError, "state_dict"),
    (load_torch_state_lacking_an_array, ValueError, "state_dict"),
    (load_torch_sgd_with_momentum_into_sgd, ValueError, "momentum"),
    (group_with_nesterov_into_momentum, ValueError, "nesterov"),
    (batches_seed_string, ValueError, "seed"),
    (batches_seed_negative, ValueError, "seed"),
    (batches_seed_fraction, ValueError, "seed"),
    (batches_device_nonsense, ValueError, "device"),
    (batches_of_a_scalar, ValueError, "arrays"),
]


MORE_CASES = [
    (grad_tensor_numpy, TypeError, "grads"),
    (grad_one_tensor_numpy, TypeError, "grads"),
    (grad_list_of_numbers, TypeError, "grads"),
    (read_only_params, ValueError, "params"),
    (lr_plain_function, TypeError, "lr"),
    (torch_lr_plain_function, TypeError, "lr"),
    (torch_group_integer_tensor, TypeError, "params"),
    (torch_group_numpy_array, TypeError, "params"),
    (fit_loss_tol_string, ValueError, "loss_tol"),
    (fit_loss_tol_nan, ValueError, "loss_tol"),
    (fit_grad_tol_negative, ValueError, "grad_tol"),
    (fit_min_delta_negative, ValueError, "min_delta"),
    (schedule_gamma_above_one, ValueError, "gamma"),
    (warmup_steps_negative, ValueError, "warmup_steps"),
    (amsgrad_string, TypeError, "amsgrad"),
    (amsgrad_number, TypeError, "amsgrad"),
]


ALL_CASES = CASES + MORE_CASES + FUZZ_CASES
TORCH_CASES = [c for c in ALL_CASES if "device" in inspect.signature(c[0]).parameters]
NUMPY_CASES = [c for c in ALL_CASES if c not in TORCH_CASES]


@pytest.mark.parametrize("case, error, argument", NUMPY_CASES,
                         ids=[c[0].__name__ for c in NUMPY_CASES])
def test_bad_input_is_rejected_and_changes_nothing(case, error, argument):
    check_rejected(*case(), error, argument)


@pytest.mark.parametrize("case, error, argument", TORCH_CASES,
                         ids=[c[0].__name__ for c in TORCH_CASES])
def test_bad_torch_input_is_rejected_and_changes_nothing(case, error, argument, device):
    check_rejected(*case(device), error, argument)


@pytest.mark.parametrize("case, wording", [
    (grad_tensor_numpy, r"grads\[0\] must be a NumPy array, got Tensor"),
    (read_only_params, r"params\[1\] is read-only"),
    (lr_plain_function, r"lr must be a positive number or a gdcore\.schedules\.Schedule"),
    (torch_group_integer_tensor, r"params\[1\] has dtype torch\.int64"),
])
def test_more_messages_name_the_entry(case, wording):
    uses_device = "device" in inspect.signature(case).parameters
    call, _ = case("cpu") if uses_device else case()
    with pytest.raises((TypeError, ValueError), match=wording):
        call()
