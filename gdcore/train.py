r"""The training loop: problem + optimiser + batching (+ a schedule inside the optimiser).

:func:`fit` runs steps until a stopping rule fires and returns a
:class:`History`. Wall time counts only the optimisation (batch loss,
gradient, update), not the full-data loss recorded for monitoring.
Divergence (a non-finite loss or gradient, or a full-data loss above
:math:`J_0 + f \max(|J_0|, 1)`, with :math:`J_0` the starting loss and
:math:`f` = ``divergence_factor``) ends the run with ``diverged`` true and no
overflow warnings. The margin grows with :math:`|J_0|` but is at least
:math:`f`, so that a start near a zero loss, or a loss that can be negative,
is not taken for a blow-up.
"""
import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import schedules, validate
from .batching import Batches
from .optim import SGD, Optimizer


@dataclass
class History:
    """What happened during :func:`fit`.

    ``step``, ``loss``, ``epoch``, ``samples``, ``time`` (and ``trajectory``
    when recorded) are aligned: one entry per evaluation, the first at step 0
    before any update. ``batch_loss`` has one entry per step: the loss on that
    step's batch, before its update (always finite: a step whose batch loss or
    gradient is not finite is not taken). ``samples`` counts per-sample gradient
    evaluations (one per step for a problem without data).

    ``average`` (when ``fit`` got ``average_from``) is aligned with ``step`` too:
    the Polyak–Ruppert average of the iterates from step ``average_from`` to that
    step (the iterate itself before ``average_from``).

    ``stop_reason`` says which rule ended the run: ``"max_steps"``,
    ``"loss_tol"``, ``"grad_tol"``, ``"stalled"`` (patience ran out) or
    ``"diverged"``; ``diverged_at`` is the step of the divergence, else None.

    With a ``validation`` problem, ``val_loss`` is aligned with ``step`` (else
    empty), ``best_step`` is the step of its lowest value, and patience
    running out on it ends the run with ``"early_stopped"``.
    """

    step: np.ndarray
    loss: np.ndarray
    epoch: np.ndarray
    samples: np.ndarray
    time: np.ndarray
    batch_loss: np.ndarray
    trajectory: np.ndarray
    diverged_at: int
    stop_reason: str
    val_loss: np.ndarray = field(default_factory=lambda: np.array([]))
    best_step: int = None
    average: np.ndarray = None

    @property
    def diverged(self):
        """Whether the run ended by divergence."""
        return self.stop_reason == "diverged"

    @property
    def final_loss(self):
        """The last recorded full-data loss."""
        return float(self.loss[-1])

    @property
    def steps_taken(self):
        """Number of parameter updates made."""
        return len(self.batch_loss)

    def __repr__(self):
        state = f"diverged at step {self.diverged_at}" if self.diverged else \
            f"final loss {self.final_loss:.6g}"
        return f"History({self.steps_taken} steps, {state}, stopped: {self.stop_reason})"


def fit(problem, optimizer, *, steps=None, epochs=None, batch_size=None, order="shuffle",
        drop_last=False, seed=0, loss_tol=None, grad_tol=None, patience=None, min_delta=0.0,
        eval_every=1, record_trajectory=False, divergence_factor=1e8, proximal=False,
        validation=None, restore_best=False, average_from=None):
    """Minimise ``problem`` with ``optimizer``, a NumPy optimiser over one array.

    The optimiser updates that array in place: after ``fit`` the caller's
    array holds the final parameters (pass a copy to keep the start).

    Stopping rules, checked at every evaluation (every ``eval_every`` steps):
    the step budget (``steps``, or ``epochs`` full passes: the smaller when both
    are given), full-data loss <= ``loss_tol`` (any finite number: some losses
    are negative), full-gradient norm <= ``grad_tol``, no improvement of the
    best loss by more than ``min_delta`` in ``patience`` evaluations, and
    divergence: a non-finite loss or gradient, or a full-data loss above
    ``J0 + divergence_factor * max(|J0|, 1)`` with ``J0`` the starting loss.

    ``proximal=True`` runs proximal gradient descent (ISTA for an L1 penalty):
    ``problem`` must be a penalty such as :class:`gdcore.L1Penalty` and the
    optimiser a :class:`gdcore.SGD`; each step
    follows the gradient of the smooth part ``problem.problem`` only, then
    applies ``problem.prox(theta, lr)`` with the rate of that step. The
    recorded losses include the penalty.

    ``validation``, a problem on held-out data with the same parameter shape,
    is evaluated at every evaluation into ``History.val_loss``; ``patience``
    (and ``min_delta``) then watch the validation loss instead of the training
    loss: early stopping. ``restore_best=True`` puts the parameters with the
    lowest validation loss back into the array at the end.

    ``average_from=s`` also records ``History.average``: at each evaluation step t,
    the running mean (theta_s + ... + theta_t) / (t - s + 1) of the iterates
    (Polyak–Ruppert averaging); it does not change the iterates themselves.
    """
    if not isinstance(optimizer, Optimizer) or len(optimizer.params) != 1:
        raise TypeError("optimizer must be a gdcore NumPy optimiser over one parameter array")
    theta = optimizer.params[0]
    if tuple(theta.shape) != tuple(problem.shape):
        raise ValueError(f"optimizer's parameter has shape {theta.shape}, but the problem "
                         f"expects {tuple(problem.shape)}")
    if problem.n_samples is None:
        if batch_size is not None or epochs is not None:
            raise ValueError(f"batch_size/epochs: {type(problem).__name__} has no samples; "
                             "give steps only")
        batches = None
    else:
        batches = Batches(problem.n_samples, batch_size, order, drop_last, seed)
    budget = _budget(steps, epochs, batches)
    eval_every = validate.positive_int("eval_every", eval_every)
    divergence_factor = validate.positive("divergence_factor", divergence_factor)
    if patience is not None:
        patience = validate.positive_int("patience", patience)
    if loss_tol is not None:
        loss_tol = validate.finite("loss_tol", loss_tol)
    if grad_tol is not None:
        grad_tol = validate.non_negative("grad_tol", grad_tol)
    min_delta = validate.non_negative("min_delta", min_delta)
    if proximal and not isinstance(optimizer, SGD):
        raise TypeError(f"proximal: the proximal step takes one scalar rate, as gdcore.SGD "
                        f"does; {type(optimizer).__name__} scales each coordinate differently")
    gradient_of = _smooth_part(problem) if proximal else problem
    _check_validation(validation, problem, restore_best)
    watched = _Best(min_delta)  # the validation loss when given, else the training loss
    best_theta = theta.copy() if restore_best else None
    val_losses = []
    if average_from is not None:
        average_from = validate.non_negative_int("average_from", average_from)

    rec = {"step": [], "loss": [], "epoch": [], "samples": [], "time": [], "trajectory": [],
           "average": []}
    averaged, averaged_count = None, 0
    batch_losses = []
    samples, elapsed, t = 0, 0.0, 0
    stop, diverged_at = "max_steps", None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        full_loss = float(problem.loss(theta))
        limit = full_loss + divergence_factor * max(abs(full_loss), 1.0)
        per_epoch = batches.steps_per_epoch if batches else 1

        def record():
            rec["step"].append(t)
            rec["loss"].append(full_loss)
            rec["epoch"].append(t / per_epoch if batches else np.nan)
            rec["samples"].append(samples)
            rec["time"].append(elapsed)
            if record_trajectory:
                rec["trajectory"].append(theta.copy())
            if average_from is not None:
                rec["average"].append(theta.copy() if averaged is None else averaged.copy())
            if validation is not None:
                val_losses.append(float(validation.loss(theta)))
            if watched.update(val_losses[-1] if validation is not None else full_loss, t) \
                    and restore_best:
                best_theta[...] = theta

        def accumulate():  # the running mean of theta_s, ..., theta_t
            nonlocal averaged, averaged_count
            if average_from is not None and t >= average_from:
                averaged_count += 1
                averaged = theta.copy() if averaged is None else \
                    averaged + (theta - averaged) / averaged_count

        accumulate()
        record()  # the starting loss is the first to beat (patience)
        if not math.isfinite(full_loss):
            stop, diverged_at = "diverged", 0
        stream = _batch_stream(batches)
        while stop == "max_steps" and t < budget:
            idx = next(stream)
            start = time.perf_counter()
            batch_loss = float(problem.loss(theta, idx))
            grad = gradient_of.grad(theta, idx)
            # optimizer.step would refuse a non-finite gradient with an error; checked
            # here first because in fit it is divergence, a result to report
            if not (math.isfinite(batch_loss) and validate.all_finite(grad)):
                stop, diverged_at = "diverged", t  # no update made: no batch loss recorded
                break
            lr = optimizer.current_lr
            optimizer.step(grad)
            if proximal:
                theta[...] = problem.prox(theta, lr)
            elapsed += time.perf_counter() - start
            batch_losses.append(batch_loss)
            samples += len(idx) if idx is not None else 1
            t += 1
            accumulate()
            if t % eval_every and t < budget:
                continue
            full_loss = float(problem.loss(theta))
            record()
            if not math.isfinite(full_loss) or full_loss > limit:
                stop, diverged_at = "diverged", t
            elif loss_tol is not None and full_loss <= loss_tol:
                stop = "loss_tol"
            elif grad_tol is not None and np.linalg.norm(problem.grad(theta)) <= grad_tol:
                stop = "grad_tol"
            elif patience is not None and watched.since_best >= patience:
                stop = "stalled" if validation is None else "early_stopped"
    if restore_best:
        theta[...] = best_theta
    arrays = {k: np.array(v) for k, v in rec.items()}
    return History(**arrays, batch_loss=np.array(batch_losses), diverged_at=diverged_at,
                   stop_reason=stop, val_loss=np.array(val_losses),
                   best_step=watched.best_step if validation is not None else None)


def _smooth_part(problem):
    """The smooth problem inside a penalty with a proximal step (for ``proximal=True``)."""
    if not (hasattr(problem, "prox") and hasattr(problem, "problem")):
        raise TypeError(f"proximal: {type(problem).__name__} has no proximal step; give a "
                        "penalty such as gdcore.L1Penalty(problem, strength)")
    return problem.problem


def _check_validation(validation, problem, restore_best):
    if validation is not None:
        if not hasattr(validation, "loss") or not hasattr(validation, "shape"):
            raise TypeError(f"validation must be a gdcore Problem, got {type(validation).__name__}")
        if tuple(validation.shape) != tuple(problem.shape):
            raise ValueError(f"validation has parameter shape {tuple(validation.shape)}, "
                             f"but the problem's is {tuple(problem.shape)}")
    elif restore_best:
        raise ValueError("restore_best: there is nothing to restore without a validation "
                         "problem (validation=...)")


class _Best:
    """The lowest loss seen (improvements must beat it by more than ``min_delta``), the step
    where it was reached and the evaluations since: patience and early stopping."""

    def __init__(self, min_delta):
        self.min_delta, self.best, self.best_step, self.since_best = min_delta, math.inf, None, 0

    def update(self, loss, t):
        """Record the loss of step ``t``; True when it is a new best."""
        if self.best_step is None or loss < self.best - self.min_delta:
            self.best, self.best_step, self.since_best = loss, t, 0
            return True
        self.since_best += 1
        return False


def _budget(steps, epochs, batches):
    if steps is None and epochs is None:
        raise ValueError("steps/epochs: give a step budget (steps=...) or a number of epochs")
    limits = []
    if steps is not None:
        limits.append(validate.positive_int("steps", steps))
    if epochs is not None:
        limits.append(validate.positive_int("epochs", epochs) * batches.steps_per_epoch)
    return min(limits)


def _batch_stream(batches):
    """Endless batches, epoch after epoch (None forever for a problem without data)."""
    while True:
        if batches is None:
            yield None
        else:
            yield from batches.epoch()


@dataclass
class RangeTest:
    """What :func:`lr_range_test` measured: one entry per step taken.

    ``lr[t]`` is the rate of step ``t``; ``batch_loss[t]`` is that step's batch
    loss, measured before the step (as ``History.batch_loss``);
    ``smoothed`` is its bias-corrected exponential moving average with factor
    ``smoothing``.
    """

    lr: np.ndarray
    batch_loss: np.ndarray
    smoothed: np.ndarray
    smoothing: float
    history: History

    @property
    def lr_at_minimum(self):
        """The rate where the smoothed loss is lowest; at higher rates it climbs."""
        return float(self.lr[np.argmin(self.smoothed)])

    @property
    def lr_steepest(self):
        """The rate where the smoothed loss falls fastest per factor of lr, before its minimum.

        The first ``1 / (1 - smoothing)`` steps, while the average still rests
        on a few noisy batches, are skipped.
        """
        start, end = round(1 / (1 - self.smoothing)), int(np.argmin(self.smoothed)) + 1
        if end - start < 2:
            raise ValueError("the smoothed loss did not fall for long enough: lower lr_min or "
                             "raise steps")
        slope = np.gradient(np.log(self.smoothed[:end]), np.log(self.lr[:end]))
        return float(self.lr[start + np.argmin(slope[start:])])


def lr_range_test(problem, make_optimizer, lr_min=1e-5, lr_max=10.0, steps=100, theta0=None,
                  smoothing=0.9, **fit_options):
    """Learning-rate range test: one short run whose rate grows exponentially from
    ``lr_min`` (step 0) to ``lr_max`` (step ``steps - 1``).

    ``make_optimizer(theta, lr)`` builds the optimiser (``gd.SGD`` itself works);
    it gets a :func:`gdcore.schedules.exponential` schedule as ``lr``. The run is
    :func:`fit` from ``theta0`` (zeros by default) with ``fit_options``
    (``batch_size``, ``seed``, ...) and stops early when the loss diverges.
    The batch loss is smoothed by an exponential moving average with factor
    ``smoothing``, divided by ``1 - smoothing ** (t + 1)`` to undo its zero start.
    The test reads the loss on a log scale, so every batch loss must be > 0.
    """
    lr_min, lr_max = validate.positive("lr_min", lr_min), validate.positive("lr_max", lr_max)
    if lr_max <= lr_min:
        raise ValueError(f"lr_max must exceed lr_min, got lr_min={lr_min!r}, lr_max={lr_max!r}")
    steps = validate.positive_int("steps", steps)
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps!r}")
    smoothing = validate.unit_interval("smoothing", smoothing)
    schedule = schedules.exponential(lr_min, (lr_max / lr_min) ** (1 / (steps - 1)))
    theta = np.zeros(problem.shape) if theta0 is None else np.array(theta0, dtype=float)
    history = fit(problem, make_optimizer(theta, schedule), steps=steps, **fit_options)
    losses = history.batch_loss
    if not losses.size:
        raise ValueError("theta0: the loss or its gradient is not finite at the start, "
                         "so the range test took no step")
    if (losses <= 0).any():
        t = int(np.argmax(losses <= 0))
        raise ValueError(f"problem: the range test reads log(loss); losses must be > 0, "
                         f"but the batch loss at step {t} is {losses[t]:.6g}")
    average, smoothed = 0.0, []
    for t, loss in enumerate(losses):
        average = smoothing * average + (1 - smoothing) * loss
        smoothed.append(average / (1 - smoothing ** (t + 1)))
    return RangeTest(schedule.values(len(losses)), losses, np.array(smoothed), smoothing, history)
