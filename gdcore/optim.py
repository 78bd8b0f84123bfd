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

#: Entries per block when an elementwise rule is applied to a large array.
BLOCK = 2 ** 15


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
            if not p.flags.writeable:
                raise ValueError(f"params[{i}] is read-only; the optimiser updates its parameters "
                                 "in place, so give a writeable array (e.g. a copy)")
        self.params = params
        self.lr = schedules.learning_rate(lr)
        self.weight_decay, self.hyper = rules.check_hyperparameters(type(self), weight_decay, hyper)
        self.state = [rules.init_state(self, p, self.hyper) for p in params]
        self.steps = 0

    @property
    def current_lr(self):
        """The learning rate the next step will use."""
        return schedules.lr_at(self.lr, self.steps)

    def step(self, grads):
        """Update every parameter from its gradient: a NumPy array, or a list of them matching ``params``.

        Raises ``TypeError`` or ``ValueError`` before changing anything if a
        gradient is not a NumPy array, has the wrong shape or holds NaN or inf.
        """
        grads = [grads] if isinstance(grads, np.ndarray) else grads
        if not isinstance(grads, (list, tuple)):
            raise TypeError(f"grads must be a NumPy array or a list of them, one per parameter, "
                            f"got {type(grads).__name__} (torch tensors go to gdcore.torch_optim)")
        for i, g in enumerate(grads):
            if not isinstance(g, np.ndarray):
                raise TypeError(f"grads[{i}] must be a NumPy array, got {type(g).__name__} "
                                "(torch tensors go to gdcore.torch_optim)")
        if len(grads) != len(self.params):
            raise ValueError(f"grads has {len(grads)} arrays but there are {len(self.params)} params")
        for i, (g, p) in enumerate(zip(grads, self.params)):
            validate.gradient(f"grads[{i}]" if len(grads) > 1 else "grads", g, p)
        lr, t = self.current_lr, self.steps + 1
        for p, g, state in zip(self.params, grads, self.state):
            for block in self._blocks(p, g, state):
                rules.apply_update(self, *block, lr, t, self.weight_decay, self.hyper)
        self.steps = t

    def _blocks(self, param, grad, state):
        """(param, grad, state) whole, or for an elementwise rule on a large array in
        pieces of BLOCK entries (views, so updates land in the arrays themselves).

        NumPy evaluates a rule one operation at a time, each a pass over memory
        with a freshly allocated temporary; block by block those passes stay in
        the CPU cache, which makes a large step 2-3 times faster with exactly the
        same result.
        """
        arrays = [param, grad, *state.values()]
        if not self.elementwise or param.size <= BLOCK or not all(
                a.flags.c_contiguous for a in arrays):
            yield param, grad, state
            return
        flat = [a.reshape(-1) for a in arrays]
        for start in range(0, param.size, BLOCK):
            piece = [a[start:start + BLOCK] for a in flat]
            yield piece[0], piece[1], dict(zip(state, piece[2:]))

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
        args = [f"{k}={v!r}" for k, v in {"lr": self.lr, **self.hyper}.items()]
        return f"{type(self).__name__}({', '.join(args)}, weight_decay={self.weight_decay})"


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
