"""Which samples each step sees: full batch (BGD), one sample (SGD), mini-batches (MBGD).

:class:`Batches` yields arrays of sample indices, one per step. Orders:

* ``"shuffle"``: a fresh random permutation every epoch, cut into slices of
  ``batch_size`` (every sample exactly once per epoch);
* ``"sequential"``: slices in data order that wrap around, step ``t`` using
  indices ``(t * m + 0, ..., t * m + m - 1) mod n`` (with ``drop_last`` too:
  an epoch is then ``n // m`` such slices, and the samples left over start
  the next epoch's first slice instead of being dropped);
* ``"replacement"``: each batch drawn independently with replacement.

An epoch is ``ceil(n / m)`` steps (``n // m`` with ``drop_last``). Give
``device`` to get torch index tensors made on that device (``randperm`` there,
no trip through the host per batch); otherwise NumPy index arrays.

A ``seed`` fixes the order for one kind of generator only: NumPy's (no
``device``) and torch's on each device differ, so the same seed gives
different batches on the NumPy path, on a CPU device and on a GPU.
"""
import math

import numpy as np

from . import validate

ORDERS = ("shuffle", "sequential", "replacement")


class Batches:
    """Index batches over ``n`` samples.

    ``batch_size=None`` means the full batch (BGD): every step sees all
    samples, in data order. ``seed`` makes the order reproducible (on the same
    path and device). ``len(batches)`` is the number of steps in one epoch.
    """

    def __init__(self, n, batch_size=None, order="shuffle", drop_last=False, seed=None,
                 device=None):
        self.n = validate.positive_int("n", n)
        self.batch_size = self.n if batch_size is None else validate.positive_int(
            "batch_size", batch_size)
        if self.batch_size > self.n:
            raise ValueError(f"batch_size={batch_size} is larger than the data (n={n})")
        self.order = validate.choice("order", order, ORDERS)
        self.drop_last = bool(drop_last)
        self.full = batch_size is None
        if seed is not None:
            seed = validate.non_negative_int("seed", seed)
        self.device = device
        self._cursor = 0  # where the next sequential slice starts
        if device is None:
            self._rng = np.random.default_rng(seed)
        else:
            import torch
            self._torch = torch
            try:
                torch.device(device)
            except (RuntimeError, TypeError):
                raise ValueError(f"device must name a torch device, such as 'cpu' or 'cuda', "
                                 f"got {device!r}") from None
            try:
                self._rng = torch.Generator(device=device)
            except RuntimeError:
                raise ValueError(f"device {device!r} is not available on this machine "
                                 "(gdcore.pick_device() names one that is)") from None
            if seed is None:
                self._rng.seed()  # fresh entropy, like default_rng(None); global RNG untouched
            else:
                self._rng.manual_seed(seed)

    @property
    def steps_per_epoch(self):
        """Steps in one epoch: ceil(n / m), or n // m with ``drop_last``."""
        if self.drop_last:
            return self.n // self.batch_size
        return math.ceil(self.n / self.batch_size)

    def __len__(self):
        return self.steps_per_epoch

    def __iter__(self):
        return self.epoch()

    def epoch(self):
        """Yield the index batches of one epoch."""
        n, m = self.n, self.batch_size
        if self.full:
            everything = self._arange(0, n)
            for _ in range(self.steps_per_epoch):
                yield everything
        elif self.order == "shuffle":
            perm = self._permutation()
            for start in range(0, self.steps_per_epoch * m, m):
                yield perm[start:start + m]
        elif self.order == "sequential":
            for _ in range(self.steps_per_epoch):
                start, self._cursor = self._cursor, (self._cursor + m) % n
                yield self._arange(start, start + m) % n
        else:
            for _ in range(self.steps_per_epoch):
                yield self._draw(m)

    def of(self, *arrays):
        """Yield one epoch of batches of rows: ``for xb, yb in batches.of(x, y)``.

        The rows are exactly those that indexing with :meth:`epoch`'s batches
        would give. With ``order="shuffle"`` each array is permuted once per
        epoch (one gather) and every batch is a contiguous slice of that copy,
        a view: much cheaper per batch than indexing, for one extra copy of
        the data in memory.
        """
        for i, a in enumerate(arrays):
            if getattr(a, "ndim", 0) < 1:
                raise ValueError(f"arrays[{i}] must be an array with one row per sample, got "
                                 f"{type(a).__name__} with shape {getattr(a, 'shape', None)}")
            if len(a) != self.n:
                raise ValueError(f"arrays[{i}] has {len(a)} rows, but the batches cover n={self.n}")
        if self.order != "shuffle" or self.full:
            for idx in self.epoch():
                yield tuple(a[idx] for a in arrays)
            return
        perm = self._permutation()
        shuffled = [a[perm] for a in arrays]
        m = self.batch_size
        for start in range(0, self.steps_per_epoch * m, m):
            yield tuple(a[start:start + m] for a in shuffled)

    def _arange(self, start, stop):
        if self.device is None:
            return np.arange(start, stop)
        return self._torch.arange(start, stop, device=self.device)

    def _permutation(self):
        if self.device is None:
            return self._rng.permutation(self.n)
        return self._torch.randperm(self.n, generator=self._rng, device=self.device)

    def _draw(self, m):
        if self.device is None:
            return self._rng.integers(0, self.n, size=m)
        return self._torch.randint(0, self.n, (m,), generator=self._rng, device=self.device)

    def __repr__(self):
        size = "full" if self.full else self.batch_size
        return f"Batches(n={self.n}, batch_size={size}, order={self.order!r})"
