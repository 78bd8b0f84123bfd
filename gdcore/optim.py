"""The NumPy path: optimisers that update NumPy arrays in place.

Each class combines one rule from :mod:`gdcore.rules` (its equation and
defaults, which are ``torch.optim``'s) with :class:`Optimizer`, which stores
the arrays, the state and the step count. Usage::

    theta = np.zeros(3)
    opt = Adam(theta, lr=0.1)
    for _ in range(100):
        opt.step(problem.grad(theta))   # theta changes in place

``lr`` may be a number or a :class:`gdcore.schedules.Schedule`.
"""
import copy

import numpy as np

from . import rules, schedules, validate


class Optimizer:
    """Base of the NumPy optimisers: parameters, the rule's state and the step count."""

    def __init__(self, params, lr, weight_decay=0.0, **hyper):
        params = [params] if isinstance(params, np.ndarray) else list(params)
        if not params:
            raise ValueError("params is empty: give at least one array")
        for i, p in enumerate(params):
            if not isinstance(p, np.ndarray):
                raise TypeError(f"params[{i}] must be a NumPy array, got {type(p).__name__} "
                                "(torch tensors go to gdcore.torch_optim)")
            validate.float_array(f"params[{i}]", p)
        self.params = params
        self.lr = schedules.learning_rate(lr)
        self.weight_decay, self.hyper = rules.check_hyperparameters(type(self), weight_decay, hyper)
        self.state = [rules.init_state(self, p) for p in params]
        self.steps = 0

    @property
    def current_lr(self):
        """The learning rate the next step will use."""
        return schedules.lr_at(self.lr, self.steps)

    def step(self, grads):
        """Update every parameter from its gradient (an array, or a list matching ``params``).

        Raises ``ValueError`` before changing anything if a gradient has the
        wrong shape or holds NaN or inf.
        """
        grads = [grads] if isinstance(grads, np.ndarray) else list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"grads has {len(grads)} arrays but there are {len(self.params)} params")
        for i, (g, p) in enumerate(zip(grads, self.params)):
            validate.gradient(f"grads[{i}]" if len(grads) > 1 else "grads", g, p)
        lr, t = self.current_lr, self.steps + 1
        for p, g, state in zip(self.params, grads, self.state):
            rules.apply_update(self, p, g, state, lr, t, self.weight_decay, self.hyper)
        self.steps = t

    def state_dict(self):
        """A deep copy of the step count and state arrays."""
        return {"steps": self.steps, "state": copy.deepcopy(self.state)}

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned (shapes are checked first)."""
        state = state_dict["state"]
        if len(state) != len(self.params) or any(
                s.keys() != own.keys() or any(s[k].shape != own[k].shape for k in s)
                for s, own in zip(state, self.state)):
            raise ValueError("state_dict does not match this optimiser's parameters")
        self.steps = int(state_dict["steps"])
        self.state = copy.deepcopy(state)

    def __repr__(self):
        hyper = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items())
        return f"{type(self).__name__}(lr={self.lr!r}, {hyper}, weight_decay={self.weight_decay})"


class SGD(rules.SGD, Optimizer):
    __doc__ = rules.SGD.__doc__


class Momentum(rules.Momentum, Optimizer):
    __doc__ = rules.Momentum.__doc__


class Nesterov(rules.Nesterov, Optimizer):
    __doc__ = rules.Nesterov.__doc__


class Adagrad(rules.Adagrad, Optimizer):
    __doc__ = rules.Adagrad.__doc__


class RMSprop(rules.RMSprop, Optimizer):
    __doc__ = rules.RMSprop.__doc__


class Adam(rules.Adam, Optimizer):
    __doc__ = rules.Adam.__doc__


class AdamW(rules.AdamW, Optimizer):
    __doc__ = rules.AdamW.__doc__
