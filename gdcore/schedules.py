r"""Learning-rate schedules: the learning rate :math:`\alpha_t` at step :math:`t = 0, 1, 2, \dots`.

A schedule is a callable object; pass it as ``lr`` to any gdcore optimiser
(NumPy or torch path) and the optimiser uses ``schedule(t)`` for its step
number ``t``, counted from 0. ``schedule.values(steps)`` gives the first
``steps`` values for plotting. Build one by function or by name with
:func:`make`. A schedule holds only its name and parameters, so it pickles
(``torch.save`` of an optimiser's ``state_dict`` works).
"""
import math

import numpy as np

from . import validate


def _constant(t, lr):
    return lr


def _step(t, lr, step_size, gamma):
    return lr * gamma ** (t // step_size)


def _exponential(t, lr, gamma):
    try:
        return lr * gamma ** t
    except OverflowError:  # gamma > 1 and t so large that the rate passes the float range
        return math.inf


def _linear(t, lr, total_steps, end_lr):
    return lr + (end_lr - lr) * min(t, total_steps) / total_steps


def _inverse_time(t, lr, decay):
    return lr / (1 + decay * t)


def _cosine(t, lr, total_steps, min_lr):
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * min(t, total_steps) / total_steps)) / 2


def _warmup(t, schedule, warmup_steps):
    return schedule(t) * min(1.0, (t + 1) / warmup_steps)


#: Each schedule's formula, alpha_t as a function of ``(t, **params)``.
_RATES = {"constant": _constant, "step": _step, "exponential": _exponential, "linear": _linear,
          "inverse_time": _inverse_time, "cosine": _cosine, "warmup": _warmup}


class Schedule:
    """A learning rate as a function of the step count ``t`` (0-based).

    Made by the functions below; it stores the schedule's ``name`` and
    ``params``, and evaluates the formula of that name.
    """

    def __init__(self, name, **params):
        self.name = name
        self.params = params

    def __call__(self, t):
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"t must be an integer step count >= 0, got {t!r}")
        return float(_RATES[self.name](int(t), **self.params))

    def values(self, steps):
        """The learning rates for steps 0 .. steps-1, as an array."""
        return np.array([self(t) for t in range(validate.positive_int("steps", steps))])

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"


def constant(lr):
    """alpha_t = lr."""
    return Schedule("constant", lr=validate.positive("lr", lr))


def step(lr, step_size, gamma=0.1):
    """alpha_t = lr * gamma ** (t // step_size): drop by ``gamma`` every ``step_size`` steps."""
    return Schedule("step", lr=validate.positive("lr", lr),
                    step_size=validate.positive_int("step_size", step_size),
                    gamma=_factor("gamma", gamma))


def exponential(lr, gamma):
    """alpha_t = lr * gamma ** t: decays for gamma < 1, grows for gamma > 1 (a range test).

    Past the largest float (gamma > 1, t very large) the rate is ``inf``.
    """
    return Schedule("exponential", lr=validate.positive("lr", lr),
                    gamma=validate.positive("gamma", gamma))


def linear(lr, total_steps, end_lr=0.0):
    """alpha_t goes in a straight line from ``lr`` at t = 0 to ``end_lr`` at t = total_steps, then stays."""
    return Schedule("linear", lr=validate.positive("lr", lr),
                    total_steps=validate.positive_int("total_steps", total_steps),
                    end_lr=validate.non_negative("end_lr", end_lr))


def inverse_time(lr, decay):
    """alpha_t = lr / (1 + decay * t): sum of alpha_t diverges, sum of alpha_t**2 converges."""
    return Schedule("inverse_time", lr=validate.positive("lr", lr),
                    decay=validate.positive("decay", decay))


def cosine(lr, total_steps, min_lr=0.0):
    """alpha_t = min_lr + (lr - min_lr) * (1 + cos(pi * t / total_steps)) / 2, then min_lr."""
    return Schedule("cosine", lr=validate.positive("lr", lr),
                    total_steps=validate.positive_int("total_steps", total_steps),
                    min_lr=validate.non_negative("min_lr", min_lr))


def warmup(schedule, warmup_steps):
    """Linear warm-up: alpha_t = schedule(t) * (t + 1) / warmup_steps while t < warmup_steps, then schedule(t)."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a Schedule, got {type(schedule).__name__}")
    return Schedule("warmup", schedule=schedule,
                    warmup_steps=validate.positive_int("warmup_steps", warmup_steps))


def _factor(name, value):
    """A decay factor in (0, 1]."""
    value = validate.positive(name, value)
    if value > 1:
        raise ValueError(f"{name} must lie in (0, 1], got {value!r}")
    return value


SCHEDULES = {f.__name__: f for f in (constant, step, exponential, linear, inverse_time, cosine)}


def make(name, lr, *, warmup_steps=0, **params):
    """Build a schedule by name, e.g. ``make("cosine", 0.1, total_steps=100)``.

    ``warmup_steps=k`` with k >= 1 wraps the result in :func:`warmup`; 0 means no warm-up.
    """
    if name not in SCHEDULES:
        raise ValueError(f"name must be one of {', '.join(map(repr, SCHEDULES))}, got {name!r}")
    warmup_steps = validate.non_negative_int("warmup_steps", warmup_steps)
    schedule = SCHEDULES[name](lr, **params)
    return warmup(schedule, warmup_steps) if warmup_steps else schedule


def learning_rate(lr):
    """Check an optimiser's ``lr``: a positive finite number or a :class:`Schedule`."""
    if isinstance(lr, Schedule):
        return lr
    if callable(lr):
        raise TypeError(f"lr must be a positive number or a gdcore.schedules.Schedule, got the "
                        f"callable {lr!r}; build a Schedule with gdcore.schedules")
    return validate.positive("lr", lr)


def lr_at(lr, t):
    """The learning rate at step ``t``: ``lr(t)`` for a schedule, else ``lr``."""
    return lr(t) if isinstance(lr, Schedule) else lr
