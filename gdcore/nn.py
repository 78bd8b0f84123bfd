"""Small networks in torch, their training loop, and the measurements chapter 10 makes.

Conventions: a classifier returns logits of shape ``(batch, classes)``; the loss
is the mean cross-entropy over the batch (``torch.nn.functional.cross_entropy``),
so a gradient is a mean of per-sample gradients, as in the NumPy chapters.
Data stay on one device; :func:`train` batches them there with
:class:`gdcore.Batches` (``device=``), never through the host.
"""
import time
import weakref
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import validate
from .batching import Batches


def mlp(sizes, seed=0, dtype=torch.float32, device="cpu"):
    """A multilayer perceptron: ``nn.Linear`` layers of widths ``sizes`` (inputs, hidden
    widths..., outputs) with ReLU between them.

    The weights are drawn on the CPU from ``seed`` (torch's default initialisation)
    without touching the global random state, then moved to ``device`` and ``dtype``:
    the same seed gives the same network on every device.
    """
    sizes = [validate.positive_int(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {sizes}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i:
                layers.append(torch.nn.ReLU())
            layers.append(torch.nn.Linear(d_in, d_out))
        model = torch.nn.Sequential(*layers)
    return model.to(device=device, dtype=dtype)


def accuracy(model, x, y):
    """The fraction of rows of ``x`` whose largest logit is the label in ``y``."""
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == y).float().mean())


def full_loss(model, x, y):
    """The mean cross-entropy over all rows, without building a graph."""
    with torch.no_grad():
        return float(F.cross_entropy(model(x), y))


@dataclass
class TrainLog:
    """What :func:`train` recorded: ``loss[e]`` is the full-data loss after ``e`` epochs
    (``loss[0]`` before training); ``diverged_at`` is the epoch in which a batch loss
    stopped being finite (training then stopped), else None."""

    loss: np.ndarray
    diverged_at: int = None

    @property
    def diverged(self):
        return self.diverged_at is not None


def train(model, x, y, optimizer, epochs, batch_size, seed=0):
    """Mini-batch training of a classifier on tensors ``x``, ``y`` (on the model's device).

    Every step runs the four moves of the loop: ``zero_grad``, forward and loss,
    ``backward``, ``step``. Batches are reshuffled each epoch from ``seed``. A
    non-finite batch loss ends training before its update (reported, no warnings).
    """
    epochs = validate.positive_int("epochs", epochs)
    batches = Batches(len(x), batch_size, seed=seed, device=x.device)
    losses = [full_loss(model, x, y)]
    for epoch in range(1, epochs + 1):
        for xb, yb in batches.of(x, y):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            if not torch.isfinite(loss):
                return TrainLog(np.array(losses), diverged_at=epoch)
            loss.backward()
            optimizer.step()
        losses.append(full_loss(model, x, y))
    return TrainLog(np.array(losses))


def flat_gradient(model):
    """All parameters' ``.grad`` concatenated into one vector (a copy)."""
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()]).clone()


def batch_gradient(model, x, y):
    """The gradient of the mean cross-entropy over ``x``, ``y`` as one flat vector."""
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return flat_gradient(model)


def accumulated_gradient(model, x, y, micro_batches):
    """The same gradient as :func:`batch_gradient`, built from ``micro_batches`` slices.

    Each slice's mean loss is weighted by its share of the rows before
    ``backward``, which adds into ``.grad``: the sum is the mean over all rows,
    while autograd only ever holds one slice's activations.
    """
    micro_batches = validate.positive_int("micro_batches", micro_batches)
    if micro_batches > len(x):
        raise ValueError(f"micro_batches={micro_batches} is more than the {len(x)} rows")
    model.zero_grad()
    for xb, yb in zip(x.tensor_split(micro_batches), y.tensor_split(micro_batches)):
        (F.cross_entropy(model(xb), yb) * (len(xb) / len(x))).backward()
    return flat_gradient(model)


class _Held:
    """A saved tensor as autograd keeps it; when autograd lets go of it, it is released."""

    __slots__ = ("tensor", "__weakref__")

    def __init__(self, tensor):
        self.tensor = tensor


class SavedTensors:
    """Count the bytes autograd holds for the backward pass inside a ``with`` block.

    ``saved.bytes`` is the most held at once: each saved tensor counts once (a
    tensor saved by two operations is one block of memory) from the forward pass
    that saves it until autograd frees it (after ``backward``), and tensors that
    live in the memory of ``exclude`` (the model's parameters: saving them costs
    nothing) do not count. ``limit`` (bytes) simulates a device that small: once
    the held bytes would exceed it, the block raises ``torch.OutOfMemoryError``,
    the exception a CUDA allocation failure raises.
    """

    def __init__(self, exclude=(), limit=None):
        self._excluded = {p.untyped_storage().data_ptr() for p in exclude}
        self.limit = None if limit is None else validate.positive_int("limit", limit)
        self._holders = {}  # (address, size) -> number of saves still held
        self.held = 0
        self.bytes = 0

    def _pack(self, t):
        if t.untyped_storage().data_ptr() in self._excluded:
            return t
        key, size = (t.data_ptr(), t.nbytes), t.nbytes
        if key not in self._holders:
            if self.limit is not None and self.held + size > self.limit:
                raise torch.OutOfMemoryError(
                    f"simulated out of memory: saving {size:,} more bytes for the backward "
                    f"pass would exceed the limit of {self.limit:,} bytes "
                    f"({self.held:,} held)")
            self._holders[key] = 0
            self.held += size
            self.bytes = max(self.bytes, self.held)
        self._holders[key] += 1
        held = _Held(t)
        weakref.finalize(held, self._release, key, size)
        return held

    def _release(self, key, size):
        self._holders[key] -= 1
        if not self._holders[key]:
            del self._holders[key]
            self.held -= size

    @staticmethod
    def _unpack(held):
        return held.tensor if isinstance(held, _Held) else held

    def __enter__(self):
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc):
        self._hooks.__exit__(*exc)
        return False


def mlp_saved_bytes(sizes, batch_size, element_size=4):
    """Bytes an :func:`mlp` with cross-entropy saves for backward, by arithmetic.

    Per sample: the input row, every hidden ReLU output (which the next layer
    reuses as its input), the log-probabilities (``sizes[-1]`` numbers), all of
    ``element_size`` bytes, plus the int64 label; and one scalar per batch.
    """
    floats = sizes[0] + sum(sizes[1:-1]) + sizes[-1]
    return batch_size * (floats * element_size + 8) + element_size


def parameter_count(model):
    """The number of trainable numbers in ``model``."""
    return sum(p.numel() for p in model.parameters())


def best_seconds(fn, repeats=5, warmup=1, device="cpu"):
    """The shortest wall time of ``fn()`` over ``repeats`` runs after ``warmup`` untimed
    ones: the run least disturbed by other work on the machine (the GPU is
    synchronised around each run, so queued work is counted)."""
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(validate.positive_int("repeats", repeats)):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def copy_bandwidth(numel, device="cpu", repeats=5):
    """GB/s of copying one float32 tensor of ``numel`` elements into another
    (each element read once and written once: 8 bytes)."""
    src = torch.ones(numel, device=device)
    dst = torch.empty_like(src)
    return 8 * numel / best_seconds(lambda: dst.copy_(src), repeats, device=device) / 1e9


ADAM_BYTES_PER_PARAMETER = 28  # float32: read p, grad, m, v (16 bytes); write p, m, v (12)


def adam_step_bandwidth(make_optimizer, shapes, device="cpu", repeats=5):
    """GB/s of one Adam step over float32 parameters of the given ``shapes``, counting
    ``ADAM_BYTES_PER_PARAMETER`` (28) bytes per parameter.

    ``make_optimizer(params)`` builds the optimiser (any Adam with ``step()``); the
    gradients are fixed random numbers, so every step does the same work.
    """
    gen = torch.Generator(device="cpu").manual_seed(0)
    params = [torch.randn(s, generator=gen).to(device).requires_grad_() for s in shapes]
    for p in params:
        p.grad = torch.randn(p.shape, generator=gen).to(device) * 1e-3
    optimizer = make_optimizer(params)
    numel = sum(p.numel() for p in params)
    seconds = best_seconds(optimizer.step, repeats, warmup=2, device=device)
    return ADAM_BYTES_PER_PARAMETER * numel / seconds / 1e9


def samples_per_second(model, optimizer, batches, n, device="cpu"):
    """Training throughput over one pass of ``batches`` (pairs ``xb, yb``, moved to
    ``device`` if they are not there yet) covering ``n`` samples."""
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    sync()
    start = time.perf_counter()
    for xb, yb in batches:
        xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
        optimizer.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        optimizer.step()
    sync()
    return n / (time.perf_counter() - start)


def grid_predictions(model, xlim, ylim, resolution=150):
    """Predicted class on a ``resolution``² grid over the plane (for decision-region plots):
    returns ``xs, ys, labels`` as NumPy arrays."""
    xs, ys = np.linspace(*xlim, resolution), np.linspace(*ylim, resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    param = next(model.parameters())
    with torch.no_grad():
        logits = model(torch.as_tensor(grid, dtype=param.dtype, device=param.device))
    return xs, ys, logits.argmax(dim=1).cpu().numpy().reshape(resolution, resolution)

