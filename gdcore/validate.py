"""Argument checks shared by every part of gdcore.

Each check raises ``ValueError`` or ``TypeError`` with a message that starts
with the argument's name, and is called before anything is changed.
"""
import math
import numbers

import numpy as np

from .backend import is_tensor


def _is_real(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def positive(name, value):
    """A finite number > 0 (a learning rate, a step count...)."""
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def finite(name, value):
    """A finite number of either sign (a loss target)."""
    if not _is_real(value) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def non_negative(name, value):
    """A finite number >= 0 (eps, weight decay, a penalty strength)."""
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def unit_interval(name, value):
    """A number in [0, 1) (momentum and averaging factors)."""
    if not _is_real(value) or not 0 <= value < 1:
        raise ValueError(f"{name} must lie in [0, 1), got {value!r}")
    return float(value)


def boolean(name, value):
    """True or False (NumPy's bool too), nothing else: a switch such as ``amsgrad``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def non_negative_int(name, value):
    """An integer >= 0 (a count that may be zero)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def positive_int(name, value):
    """An integer >= 1 (a batch size, a number of steps)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def float_array(name, x):
    """A non-empty floating-point NumPy array or torch tensor."""
    if is_tensor(x):
        floating, convert = x.is_floating_point(), f"{name}.double() or {name}.float()"
    elif isinstance(x, np.ma.MaskedArray):
        raise TypeError(f"{name} is a masked array, whose mask would hide NaN or inf from the "
                        f"checks; give a plain array (np.ma.filled({name}, 0.0) zeroes the "
                        "masked entries)")
    elif isinstance(x, np.ndarray):
        floating, convert = np.issubdtype(x.dtype, np.floating), f"{name}.astype(float)"
    else:
        raise TypeError(f"{name} must be a NumPy array or torch tensor, got {type(x).__name__}")
    if not floating:
        raise TypeError(f"{name} has dtype {x.dtype}; gradient descent needs floating point "
                        f"(convert it, e.g. {convert})")
    if x.numel() == 0 if is_tensor(x) else x.size == 0:
        raise ValueError(f"{name} is empty")
    return x


def numpy_float_array(name, x):
    """A non-empty floating-point NumPy array, for code that computes with NumPy."""
    if is_tensor(x):
        raise TypeError(f"{name} must be a NumPy array, got a torch tensor "
                        f"(convert it with gdcore.to_numpy({name}))")
    return float_array(name, x)


def all_finite(x):
    """True when no entry of the array or tensor is NaN or infinite.

    A NaN or inf makes the sum non-finite, so a finite sum (one cheap
    reduction) settles the common case; only a non-finite sum, which can also
    come from overflow, is checked entry by entry.
    """
    if is_tensor(x):
        import torch
        return bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(x.sum())) or bool(np.isfinite(x).all())


def all_finite_tensors(tensors):
    """True when no entry of any of the torch tensors is NaN or infinite.

    One reduction per device (the tensors may live on several): the sums of
    the tensors on a device, stacked and summed, are finite in the common case.
    """
    import torch
    by_device = {}
    for x in tensors:
        by_device.setdefault(x.device, []).append(x)
    return all(bool(torch.isfinite(torch.stack([x.sum() for x in group]).sum()))
               or all(all_finite(x) for x in group) for group in by_device.values())


def gradient(name, grad, param):
    """A finite floating-point gradient with the parameter's shape."""
    float_array(name, grad)
    if tuple(grad.shape) != tuple(param.shape):
        raise ValueError(f"{name} has shape {tuple(grad.shape)} but the parameter has "
                         f"shape {tuple(param.shape)}")
    if not all_finite(grad):
        raise ValueError(f"{name} contains NaN or infinite values; the step was not taken")
    return grad


def choice(name, value, options):
    """One of a fixed set of strings."""
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value
