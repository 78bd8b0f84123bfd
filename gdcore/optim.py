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
        if isinstance(params, np.ndarray):
            params = [params]
        elif isinstance(params, (list, tuple)):
            params = list(params)
        else:
            raise TypeError(f"params must be a NumPy array or a list of them, got "
                            f"{type(params).__name__}")
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
        """The learning rate the next step will use (``ValueError`` if not finite)."""
        return schedules.lr_at(self.lr, self.steps)

    def step(self, grads):
        """Update every parameter from its gradient: a NumPy array, or a list of them matching ``params``.

        The update is computed in each parameter's dtype (a float16 gradient of
        a float64 parameter is converted first). Raises ``TypeError`` or
        ``ValueError`` before changing anything if a gradient is not a NumPy
        array, has the wrong shape or holds NaN or inf, or if the learning rate
        of this step is not finite.
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
        grads = [g.astype(p.dtype, copy=False) for g, p in zip(grads, self.params)]
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
        """A deep copy of the step count and the state arrays (``torch.optim``'s names)."""
        return {"steps": self.steps, "state": copy.deepcopy(self.state)}

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` returned, as copies in the parameters' dtypes.

        Everything is checked before anything changes: the keys, a step count
        that is an integer >= 0, one state per parameter with exactly this
        rule's arrays, each a finite floating-point array of the parameter's shape.
        """
        if not isinstance(state_dict, dict) or set(state_dict) != {"steps", "state"}:
            keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise ValueError(f"state_dict must be a dict with the keys 'steps' and 'state' "
                             f"(from state_dict()), got {keys}")
        steps = validate.non_negative_int("state_dict['steps']", state_dict["steps"])
        state = state_dict["state"]
        if not isinstance(state, (list, tuple)) or len(state) != len(self.params):
            raise ValueError(f"state_dict['state'] must hold one state per parameter "
                             f"({len(self.params)}), got {state!r:.80}")
        names = self.state_names(self.hyper)
        loaded = []
        for i, (entry, p) in enumerate(zip(state, self.params)):
            where = f"state_dict['state'][{i}]"
            if not isinstance(entry, dict) or set(entry) != set(names):
                keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
                raise ValueError(f"{where} must hold the arrays {list(names)} of "
                                 f"{type(self).__name__}, got {keys}")
            for key in names:
                value = validate.numpy_float_array(f"{where}[{key!r}]", entry[key])
                if value.shape != p.shape:
                    raise ValueError(f"{where}[{key!r}] has shape {value.shape}, but the "
                                     f"parameter has shape {p.shape}")
                if not validate.all_finite(value):
                    raise ValueError(f"{where}[{key!r}] contains NaN or infinite values")
            loaded.append({key: entry[key].astype(p.dtype, copy=True) for key in names})
        self.steps, self.state = steps, loaded

    def __repr__(self):
        args = [f"{self.keywords.get(k, k)}={v!r}" for k, v in {"lr": self.lr, **self.hyper}.items()]
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
