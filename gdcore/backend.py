"""The namespace shim that lets one formula serve NumPy arrays and torch tensors.

Plain arithmetic (``+ - * / **`` and their in-place forms) already works on
both. For everything else a rule asks ``xp = namespace(x)`` and calls
``xp.sqrt``, ``xp.sign``, ``xp.exp``, ``xp.logaddexp``, ``xp.zeros_like``,
``xp.maximum``: NumPy and torch spell these the same way. Three in-place
helpers with torch's names (:func:`lerp_`, :func:`addcmul_`, :func:`addcdiv_`)
save the large temporaries that plain arithmetic would allocate on every step.

A third kind of value, :class:`TensorList`, stands for several tensors at once:
its arithmetic, the helpers and its namespace call ``torch._foreach_*`` ops,
one call for all the tensors, so that the same rule updates a whole parameter
group without a Python loop over its tensors.
"""
import sys

import numpy as np


def is_tensor(x):
    """True for a torch tensor (checked without importing torch: no torch loaded, no tensors)."""
    return "torch" in sys.modules and isinstance(x, sys.modules["torch"].Tensor)


def namespace(x):
    """The module (``numpy`` or ``torch``), or the foreach namespace, whose functions apply to ``x``."""
    if isinstance(x, TensorList):
        return foreach
    if is_tensor(x):
        import torch
        return torch
    return np


class TensorList:
    """Several torch tensors that a rule treats as one value, through ``torch._foreach_*`` ops.

    ``a += b``, ``a -= b``, ``a *= b``, ``a /= b`` change every tensor in place
    (``b`` a number or a TensorList of the same length); ``a + b``, ``a - b``,
    ``a * b``, ``b * a``, ``a / b`` make new tensors. Each is one foreach call,
    which applies the same per-tensor operation to each tensor.
    """

    __slots__ = ("tensors",)

    def __init__(self, tensors):
        self.tensors = list(tensors)

    def __len__(self):
        return len(self.tensors)

    def _apply(self, name, other):
        op = getattr(sys.modules["torch"], f"_foreach_{name}")
        return op(self.tensors, other.tensors if isinstance(other, TensorList) else other)

    def _inplace(self, name, other):
        self._apply(f"{name}_", other)
        return self

    def __iadd__(self, other):
        return self._inplace("add", other)

    def __isub__(self, other):
        return self._inplace("sub", other)

    def __imul__(self, other):
        return self._inplace("mul", other)

    def __itruediv__(self, other):
        return self._inplace("div", other)

    def __add__(self, other):
        return TensorList(self._apply("add", other))

    def __sub__(self, other):
        return TensorList(self._apply("sub", other))

    def __mul__(self, other):
        return TensorList(self._apply("mul", other))

    def __truediv__(self, other):
        return TensorList(self._apply("div", other))

    __radd__ = __add__
    __rmul__ = __mul__


class foreach:
    """The namespace of :class:`TensorList` values (what :func:`namespace` returns for them)."""

    @staticmethod
    def sqrt(x):
        return TensorList(sys.modules["torch"]._foreach_sqrt(x.tensors))

    @staticmethod
    def maximum(a, b, out):
        """a <- max(a, b) entrywise: ``out`` must be ``a`` (the form the rules use)."""
        if out is not a:
            raise ValueError("out: foreach.maximum writes into its first argument only")
        sys.modules["torch"]._foreach_maximum_(a.tensors, b.tensors)
        return a


def lerp_(start, end, weight):
    """start <- start + weight * (end - start), in place; exactly ``end`` at weight 1.

    For weight >= 0.5 the NumPy path computes end - (1 - weight) * (end - start),
    as ``torch.lerp`` does, so a weight of 1 leaves no rounding from start behind.
    """
    if isinstance(start, TensorList):
        sys.modules["torch"]._foreach_lerp_(start.tensors, end.tensors, weight)
        return start
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
    if isinstance(acc, TensorList):
        sys.modules["torch"]._foreach_addcmul_(acc.tensors, a.tensors, b.tensors, value=value)
        return acc
    if is_tensor(acc):
        return acc.addcmul_(a, b, value=value)
    term = a * b
    term *= value
    acc += term
    return acc


def addcdiv_(acc, a, b, value):
    """acc <- acc + value * a / b, in place."""
    if isinstance(acc, TensorList):
        sys.modules["torch"]._foreach_addcdiv_(acc.tensors, a.tensors, b.tensors, value=value)
        return acc
    if is_tensor(acc):
        if sys.modules["torch"].compiler.is_compiling():
            acc += value * (a / b)   # value may be a 0-d tensor there (torch_optim's fused=True)
            return acc
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
