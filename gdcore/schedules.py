r"""Learning-rate schedules: the learning rate :math:`\alpha_t` at step :math:`t = 0, 1, 2, \dots`.

A schedule is a callable object; pass it as ``lr`` to any gdcore optimiser
(NumPy or torch path) and the optimiser uses ``schedule(t)`` for its step
number ``t``, counted from 0. ``schedule.values(steps)`` gives the first
``steps`` values for plotting. Build one by function or by name with
:func:`make`.
"""
import math

import numpy as np

from . import validate


class Schedule:
    """A learning rate as a function of the step count ``t`` (0-based)."""

    def __init__(self, name, rate, **params):
        self.name = name
        self.params = params
        self._rate = rate

    def __call__(self, t):
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"t must be an integer step count >= 0, got {t!r}")
        return float(self._rate(int(t)))

    def values(self, steps):
        """The learning rates for steps 0 .. steps-1, as an array."""
        return np.array([self(t) for t in range(validate.positive_int("steps", steps))])

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


def constant(lr):
    """alpha_t = lr."""
    lr = validate.positive("lr", lr)
    return Schedule("constant", lambda t: lr, lr=lr)


def step(lr, step_size, gamma=0.1):
    """alpha_t = lr * gamma ** (t // step_size): drop by ``gamma`` every ``step_size`` steps."""
    lr = validate.positive("lr", lr)
    step_size = validate.positive_int("step_size", step_size)
    gamma = _factor("gamma", gamma)
    return Schedule("step", lambda t: lr * gamma ** (t // step_size),
                    lr=lr, step_size=step_size, gamma=gamma)


def exponential(lr, gamma):
    """alpha_t = lr * gamma ** t: decays for gamma < 1, grows for gamma > 1 (a range test)."""
    lr = validate.positive("lr", lr)
    gamma = validate.positive("gamma", gamma)
    return Schedule("exponential", lambda t: lr * gamma ** t, lr=lr, gamma=gamma)


def linear(lr, total_steps, end_lr=0.0):
    """alpha_t goes in a straight line from ``lr`` at t = 0 to ``end_lr`` at t = total_steps, then stays."""
    lr = validate.positive("lr", lr)
    total_steps = validate.positive_int("total_steps", total_steps)
    end_lr = validate.non_negative("end_lr", end_lr)
    return Schedule("linear", lambda t: lr + (end_lr - lr) * min(t, total_steps) / total_steps,
                    lr=lr, total_steps=total_steps, end_lr=end_lr)


def inverse_time(lr, decay):
    """alpha_t = lr / (1 + decay * t): sum of alpha_t diverges, sum of alpha_t**2 converges."""
    lr = validate.positive("lr", lr)
    decay = validate.positive("decay", decay)
    return Schedule("inverse_time", lambda t: lr / (1 + decay * t), lr=lr, decay=decay)


def cosine(lr, total_steps, min_lr=0.0):
    """alpha_t = min_lr + (lr - min_lr) * (1 + cos(pi * t / total_steps)) / 2, then min_lr."""
    lr = validate.positive("lr", lr)
    total_steps = validate.positive_int("total_steps", total_steps)
    min_lr = validate.non_negative("min_lr", min_lr)

    def rate(t):
        return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * min(t, total_steps) / total_steps)) / 2
    return Schedule("cosine", rate, lr=lr, total_steps=total_steps, min_lr=min_lr)


def warmup(schedule, warmup_steps):
    """Linear warm-up: alpha_t = schedule(t) * (t + 1) / warmup_steps while t < warmup_steps, then schedule(t)."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule, got {type(schedule).__name__}")
    warmup_steps = validate.positive_int("warmup_steps", warmup_steps)
    return Schedule("warmup", lambda t: schedule(t) * min(1.0, (t + 1) / warmup_steps),
                    schedule=schedule, warmup_steps=warmup_steps)


def _factor(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"{name} must lie in (0, 1], got {value!r}")
    return float(value)


SCHEDULES = {f.__name__: f for f in (constant, step, exponential, linear, inverse_time, cosine)}


def make(name, lr, **params):
    """Build a schedule by name, e.g. ``make("cosine", 0.1, total_steps=100)``.

    ``warmup_steps=k`` wraps the result in :func:`warmup`.
    """
    if name not in SCHEDULES:
        raise ValueError(f"name must be one of {', '.join(map(repr, SCHEDULES))}, got {name!r}")
    warmup_steps = params.pop("warmup_steps", None)
    schedule = SCHEDULES[name](lr, **params)
    return schedule if warmup_steps is None else warmup(schedule, warmup_steps)


def learning_rate(lr):
    """Check an optimiser's ``lr``: a positive finite number or a :class:`Schedule`."""
    return lr if isinstance(lr, Schedule) else validate.positive("lr", lr)


def lr_at(lr, t):
    """The learning rate at step ``t``: ``lr(t)`` for a schedule, else ``lr``."""
    return lr(t) if isinstance(lr, Schedule) else lr
