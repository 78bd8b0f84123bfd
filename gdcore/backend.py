"""The namespace shim that lets one formula serve NumPy arrays and torch tensors.

Plain arithmetic (``+ - * / **`` and their in-place forms) already works on
both. For everything else a rule asks ``xp = namespace(x)`` and calls
``xp.sqrt``, ``xp.sign``, ``xp.exp``, ``xp.logaddexp``, ``xp.zeros_like``:
NumPy and torch spell these the same way. Three in-place helpers with
torch's names (:func:`lerp_`, :func:`addcmul_`, :func:`addcdiv_`) save the
large temporaries that plain arithmetic would allocate on every step.
"""
import sys

import numpy as np


def is_tensor(x):
    """True for a torch tensor (checked without importing torch: no torch loaded, no tensors)."""
    return "torch" in sys.modules and isinstance(x, sys.modules["torch"].Tensor)


def namespace(x):
    """The module (``numpy`` or ``torch``) whose functions apply to ``x``."""
    if is_tensor(x):
        import torch
        return torch
    return np


def lerp_(start, end, weight):
    """start <- start + weight * (end - start), in place; exactly ``end`` at weight 1.

    For weight >= 0.5 the NumPy path computes end - (1 - weight) * (end - start),
    as ``torch.lerp`` does, so a weight of 1 leaves no rounding from start behind.
    """
    if is_tensor(start):
        return start.lerp_(end, weight)
    step = end - start
    if abs(weight) < 0.5:
        step *= weight
        start += step
    else:
        step *= 1 - weight
        np.subtract(end, step, out=start)
    return start


def addcmul_(acc, a, b, value):
    """acc <- acc + value * a * b, in place."""
    if is_tensor(acc):
        return acc.addcmul_(a, b, value=value)
    term = a * b
    term *= value
    acc += term
    return acc


def addcdiv_(acc, a, b, value):
    """acc <- acc + value * a / b, in place."""
    if is_tensor(acc):
        return acc.addcdiv_(a, b, value=value)
    term = a / b
    term *= value
    acc += term
    return acc


def logsumexp_rows(z):
    """log(sum(exp(z))) along the last axis, computed without overflow."""
    if is_tensor(z):
        import torch
        return torch.logsumexp(z, dim=-1)
    top = z.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(z - top).sum(axis=-1, keepdims=True)))[..., 0]


def to_numpy(x):
    """A NumPy copy of an array or tensor, never sharing its memory.

    A tensor is copied to the CPU; bfloat16, which NumPy lacks, becomes float32.
    """
    if is_tensor(x):
        torch = sys.modules["torch"]
        dtype = torch.float32 if x.dtype == torch.bfloat16 else x.dtype
        return x.detach().to("cpu", dtype, copy=True).numpy()
    return np.array(x)


def pick_device():
    """``"cuda"`` when torch sees a GPU, else ``"cpu"`` (also when torch is absent)."""
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"
