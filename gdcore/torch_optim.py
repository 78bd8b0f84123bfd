"""The torch path: ``torch.optim.Optimizer`` subclasses on CPU or GPU tensors.

Drop-in for ``torch.optim`` in an ordinary loop (``zero_grad``,
``backward``, ``step``, ``state_dict``/``load_state_dict``, parameter
groups, closures). Each class combines one rule from :mod:`gdcore.rules`
with :class:`TorchOptimizer`; the NumPy path uses the very same rules, so
``gdcore.torch_optim.Adam(model.parameters())`` and ``torch.optim.Adam``
give the same numbers. ``lr`` may be a number or a
:class:`gdcore.schedules.Schedule`, evaluated at each parameter's step count.

A Schedule as ``lr`` replaces ``torch.optim.lr_scheduler``: use one or the
other, never both (a torch scheduler rescales a number ``lr``; it cannot
rescale a Schedule). A Schedule is saved with the ``state_dict`` and loads
with a plain ``torch.load`` (importing this module allows it for
``weights_only`` loading).
"""
import torch

from . import rules, schedules
from .validate import all_finite

# A Schedule is data (a name and numbers), safe to rebuild in torch.load(weights_only=True),
# the default since torch 2.6; torch < 2.4 has no allow-list (nor that default).
if hasattr(torch.serialization, "add_safe_globals"):
    torch.serialization.add_safe_globals([schedules.Schedule])


class TorchOptimizer(torch.optim.Optimizer):
    """Base of the torch optimisers: checks hyperparameters and gradients, then applies the rule."""

    def __init__(self, params, lr, weight_decay=0.0, **hyper):
        lr = schedules.learning_rate(lr)
        weight_decay, hyper = rules.check_hyperparameters(type(self), weight_decay, hyper)
        self._hyper_names = tuple(hyper)
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay, **hyper})

    def add_param_group(self, param_group):
        """Add a group after checking its tensors, ``lr``, ``weight_decay`` and hyperparameters.

        ``param_group["params"]`` (a tensor, or any iterable of them, a generator
        included) is read once and stored back as a list.
        """
        group = {**self.defaults, **param_group}
        schedules.learning_rate(group["lr"])
        rules.check_hyperparameters(type(self), group["weight_decay"],
                                    {k: group[k] for k in self._hyper_names})
        params = group["params"]
        if isinstance(params, set):
            raise TypeError("params must be an ordered collection such as a list, not a set: "
                            "the order fixes which state belongs to which tensor")
        params = [params] if isinstance(params, torch.Tensor) else list(params)
        for i, p in enumerate(params):
            if not isinstance(p, torch.Tensor):
                raise TypeError(f"params[{i}] must be a torch tensor, got {type(p).__name__} "
                                "(NumPy arrays go to gdcore.optim)")
            if not p.is_floating_point():
                raise TypeError(f"params[{i}] has dtype {p.dtype}; gradient descent needs "
                                "floating point")
        param_group["params"] = params
        super().add_param_group(param_group)

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient.

        Raises ``ValueError`` before changing anything if any gradient holds NaN or inf.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        work = [(group, p) for group in self.param_groups for p in group["params"]
                if p.grad is not None]
        if any(p.grad.is_sparse for _, p in work):
            raise TypeError("grads: sparse gradients are not supported; the step was not taken")
        if work and not all_finite(torch.stack([p.grad.sum() for _, p in work])):
            if not all(all_finite(p.grad) for _, p in work):
                raise ValueError("grads contain NaN or infinite values; the step was not taken")
        for group, p in work:
            state = self.state[p]
            hyper = {k: group[k] for k in self._hyper_names}
            if not state:
                state["step"] = 0
                state.update(rules.init_state(self, p, hyper))
            lr = schedules.lr_at(group["lr"], state["step"])
            state["step"] += 1
            rules.apply_update(self, p, p.grad, state, lr, state["step"], group["weight_decay"],
                               hyper)
        return loss


class SGD(rules.SGD, TorchOptimizer):
    __doc__ = rules.SGD.__doc__


class Momentum(rules.Momentum, TorchOptimizer):
    __doc__ = rules.Momentum.__doc__


class Nesterov(rules.Nesterov, TorchOptimizer):
    __doc__ = rules.Nesterov.__doc__


class Adagrad(rules.Adagrad, TorchOptimizer):
    __doc__ = rules.Adagrad.__doc__


class RMSprop(rules.RMSprop, TorchOptimizer):
    __doc__ = rules.RMSprop.__doc__


class Adam(rules.Adam, TorchOptimizer):
    __doc__ = rules.Adam.__doc__


class AdamW(rules.AdamW, TorchOptimizer):
    __doc__ = rules.AdamW.__doc__
