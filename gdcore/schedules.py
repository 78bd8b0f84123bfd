r"""Learning-rate schedules: the learning rate :math:`\alpha_t` at step :math:`t = 0, 1, 2, \dots`.

A schedule is a callable object; pass it as ``lr`` to any gdcore optimiser
(NumPy or torch path) and the optimiser uses ``schedule(t)`` for its step
number ``t``, counted from 0. ``schedule.values(steps)`` gives the first
``steps`` values for plotting. Build one by function or by name with
:func:`make`. A schedule holds only its name and parameters, so it pickles
(``torch.save`` of an optimiser's ``state_dict`` works).
"""
import inspect
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


def _factor(name, value):
    """A decay factor in (0, 1]."""
    value = validate.positive(name, value)
    if value > 1:
        raise ValueError(f"{name} must lie in (0, 1], got {value!r}")
    return value


def _schedule(name, value):
    if not isinstance(value, Schedule):
        raise TypeError(f"{name} must be a Schedule, got {type(value).__name__}")
    return value


#: Each schedule's formula, alpha_t as a function of ``(t, **params)``, and the
#: check of each of its parameters.
_RATES = {"constant": _constant, "step": _step, "exponential": _exponential, "linear": _linear,
          "inverse_time": _inverse_time, "cosine": _cosine, "warmup": _warmup}
_CHECKS = {
    "constant": {"lr": validate.positive},
    "step": {"lr": validate.positive, "step_size": validate.positive_int, "gamma": _factor},
    "exponential": {"lr": validate.positive, "gamma": validate.positive},
    "linear": {"lr": validate.positive, "total_steps": validate.positive_int,
               "end_lr": validate.non_negative},
    "inverse_time": {"lr": validate.positive, "decay": validate.positive},
    "cosine": {"lr": validate.positive, "total_steps": validate.positive_int,
               "min_lr": validate.non_negative},
    "warmup": {"schedule": _schedule, "warmup_steps": validate.positive_int},
}


class Schedule:
    """A learning rate as a function of the step count ``t`` (0-based).

    ``Schedule(name, **params)`` checks the name and every parameter, the
    defaults being those of the function of that name below; it stores the
    schedule's ``name`` and ``params``, and evaluates the formula of that name.
    """

    def __init__(self, name, **params):
        if not isinstance(name, str) or name not in _RATES:
            raise ValueError(f"name must be one of {', '.join(map(repr, _RATES))}, got {name!r}")
        checks = _CHECKS[name]
        for key in params:
            if key not in checks:
                raise TypeError(f"{key} is not a parameter of the {name} schedule "
                                f"(it takes {', '.join(checks)})")
        defaults = {key: arg.default for key, arg in
                    inspect.signature(_BUILDERS[name]).parameters.items()
                    if arg.default is not arg.empty}
        params = {**defaults, **params}
        for key in checks:
            if key not in params:
                raise TypeError(f"{key} is missing: the {name} schedule needs "
                                f"{', '.join(checks)}")
        self.name = name
        self.params = {key: check(key, params[key]) for key, check in checks.items()}

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
    return Schedule("constant", lr=lr)


def step(lr, step_size, gamma=0.1):
    """alpha_t = lr * gamma ** (t // step_size): drop by ``gamma`` every ``step_size`` steps."""
    return Schedule("step", lr=lr, step_size=step_size, gamma=gamma)


def exponential(lr, gamma):
    """alpha_t = lr * gamma ** t: decays for gamma < 1, grows for gamma > 1 (a range test).

    Past the largest float (gamma > 1, t very large) the rate is ``inf``, and
    an optimiser refuses to step with it.
    """
    return Schedule("exponential", lr=lr, gamma=gamma)


def linear(lr, total_steps, end_lr=0.0):
    """alpha_t goes in a straight line from ``lr`` at t = 0 to ``end_lr`` at t = total_steps, then stays."""
    return Schedule("linear", lr=lr, total_steps=total_steps, end_lr=end_lr)


def inverse_time(lr, decay):
    """alpha_t = lr / (1 + decay * t): sum of alpha_t diverges, sum of alpha_t**2 converges."""
    return Schedule("inverse_time", lr=lr, decay=decay)


def cosine(lr, total_steps, min_lr=0.0):
    """alpha_t = min_lr + (lr - min_lr) * (1 + cos(pi * t / total_steps)) / 2, then min_lr."""
    return Schedule("cosine", lr=lr, total_steps=total_steps, min_lr=min_lr)


def warmup(schedule, warmup_steps):
    """Linear warm-up: alpha_t = schedule(t) * (t + 1) / warmup_steps while t < warmup_steps, then schedule(t)."""
    return Schedule("warmup", schedule=schedule, warmup_steps=warmup_steps)


SCHEDULES = {f.__name__: f for f in (constant, step, exponential, linear, inverse_time, cosine)}
_BUILDERS = {**SCHEDULES, "warmup": warmup}


def make(name, lr, *, warmup_steps=0, **params):
    """Build a schedule by name, e.g. ``make("cosine", 0.1, total_steps=100)``.

    ``warmup_steps=k`` with k >= 1 wraps the result in :func:`warmup`; 0 means no warm-up.
    """
    if not isinstance(name, str) or name not in SCHEDULES:
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
    """The learning rate at step ``t``: ``lr(t)`` for a schedule, else ``lr``.

    Raises ``ValueError`` when a schedule's rate is not finite (a growing
    exponential passes the float range), so that no step is taken with it.
    """
    if not isinstance(lr, Schedule):
        return lr
    rate = lr(t)
    if not math.isfinite(rate):
        raise ValueError(f"lr: the schedule {lr!r} gives {rate} at step {t}; "
                         "the step was not taken")
    return rate
