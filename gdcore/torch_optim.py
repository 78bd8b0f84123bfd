"""The torch path: ``torch.optim.Optimizer`` subclasses on CPU or GPU tensors.

Drop-in for ``torch.optim`` in an ordinary loop (``zero_grad``,
``backward``, ``step``, ``state_dict``/``load_state_dict``, parameter
groups, closures). Each class combines one rule from :mod:`gdcore.rules`
with :class:`TorchOptimizer`; the NumPy path uses the very same rules, so
``gdcore.torch_optim.Adam(model.parameters())`` and ``torch.optim.Adam``
give the same numbers. ``lr`` may be a number or a
:class:`gdcore.schedules.Schedule`, evaluated at each parameter's step count.

``foreach`` and ``fused`` (keywords of every class and of a parameter group,
as in ``torch.optim``) choose how a step runs, not what it computes:

* ``foreach=False``: the rule runs once per tensor (a Python loop; each
  operation a separate call for each tensor);
* ``foreach=True``: the rule runs once for all of a group's tensors (of one
  device, dtype and step count), on :class:`gdcore.backend.TensorList`
  values whose every operation is one ``torch._foreach_*`` call, which saves
  the per-tensor Python overhead of models with many small tensors; on the
  CPU the result is bitwise that of ``foreach=False``;
* ``foreach=None`` (the default): ``True`` for tensors on a GPU, else
  ``False``, as ``torch.optim`` decides;
* ``fused=True``: the rule for all of a group's tensors (of one device,
  dtype and step count) compiled by ``torch.compile`` into one call, whose
  kernels make one pass over memory per tensor; the learning rate and the
  rule's other numbers of the step (:meth:`gdcore.rules.Rule.per_step`)
  enter as 0-d tensors, so a schedule or a new step count does not compile
  again. The first step compiles (seconds to minutes; on the CPU a C++
  compiler is needed), once per process for each layout (rule,
  hyperparameters, number and shapes of the tensors); past
  ``torch._dynamo.config.recompile_limit`` layouts in one process, torch
  warns and runs further ones uncompiled. The numbers equal the other modes'
  to rounding, not bitwise, since the compiler may contract a multiply and
  an add. ``foreach`` and ``fused`` cannot both be True.

A Schedule as ``lr`` replaces ``torch.optim.lr_scheduler``: use one or the
other, never both (a torch scheduler rescales a number ``lr``; it cannot
rescale a Schedule). A Schedule is saved with the ``state_dict`` and loads
with a plain ``torch.load`` (importing this module allows it for
``weights_only`` loading).
"""
import functools

import torch

from . import rules, schedules
from .backend import TensorList
from .validate import all_finite_tensors

# A Schedule is data (a name and numbers), safe to rebuild in torch.load(weights_only=True),
# the default since torch 2.6; torch < 2.4 has no allow-list (nor that default).
if hasattr(torch.serialization, "add_safe_globals"):
    torch.serialization.add_safe_globals([schedules.Schedule])


class TorchOptimizer(torch.optim.Optimizer):
    """Base of the torch optimisers: checks hyperparameters and gradients, then applies the rule.

    Parameter groups carry ``torch.optim``'s hyperparameter names (those the
    rule varies and, with their fixed values, those of the matching
    ``torch.optim`` class that it does not), and the state uses torch's names,
    so torch's schedulers (``OneCycleLR(cycle_momentum=True)`` included) work
    and ``state_dict()`` loads into the matching ``torch.optim`` optimiser and
    back (with a number as ``lr``; a step count that torch's SGD does not keep
    loads as 0).
    """

    def __init__(self, params, lr, weight_decay=0.0, foreach=None, fused=None, **hyper):
        lr = schedules.learning_rate(lr)
        foreach, fused = _switch("foreach", foreach), _switch("fused", fused)
        weight_decay, hyper = rules.check_hyperparameters(type(self), weight_decay, hyper)
        self._hyper_names = tuple(hyper)
        if isinstance(params, torch.Tensor):
            raise TypeError("params must be an iterable of tensors (e.g. model.parameters() or "
                            "[p]), of (name, tensor) pairs or of parameter groups (dicts), "
                            "got a single tensor")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"params must be an iterable of tensors, of (name, tensor) pairs or "
                            f"of parameter groups (dicts), got {type(params).__name__}") from None
        if not params:
            raise ValueError("params is empty: give at least one tensor")
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay, **hyper,
                                  **type(self).fixed, "foreach": foreach, "fused": fused})

    def add_param_group(self, param_group):
        """Add a group after checking its tensors, ``lr``, ``weight_decay`` and hyperparameters.

        ``param_group["params"]`` (a tensor, or any iterable of tensors or of
        (name, tensor) pairs, a generator included) is read once and stored
        back as a list.
        """
        group = {**self.defaults, **param_group}
        self._check_group(group)
        params = group["params"]
        if isinstance(params, set):
            raise TypeError("params must be an ordered collection such as a list, not a set: "
                            "the order fixes which state belongs to which tensor")
        params = [params] if isinstance(params, torch.Tensor) else list(params)
        for i, p in enumerate(params):
            if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
                p = p[1]                                   # from model.named_parameters()
            if not isinstance(p, torch.Tensor):
                raise TypeError(f"params[{i}] must be a torch tensor, got {type(p).__name__} "
                                "(NumPy arrays go to gdcore.optim)")
            if not p.is_floating_point():
                raise TypeError(f"params[{i}] has dtype {p.dtype}; gradient descent needs "
                                "floating point")
        param_group["params"] = params
        super().add_param_group(param_group)

    def _check_group(self, group, where="param_group"):
        """The group's validated hyperparameters (torch's names), or an error naming the bad one."""
        schedules.learning_rate(group["lr"])
        if _switch(f"{where}['foreach']", group.get("foreach")) and _switch(
                f"{where}['fused']", group.get("fused")):
            raise ValueError(f"{where}: foreach and fused cannot both be True")
        rules.check_fixed(type(self), group, where)
        return rules.check_hyperparameters(type(self), group["weight_decay"],
                                           {k: group[k] for k in self._hyper_names})

    def load_state_dict(self, state_dict):
        """Load a state dict of this optimiser or of the matching ``torch.optim`` one.

        Every group's hyperparameters and every state's arrays are checked
        before anything changes; a step count kept as a tensor becomes an int.
        """
        groups = state_dict["param_groups"]
        for i, group in enumerate(groups):
            where = f"state_dict['param_groups'][{i}]"
            missing = [k for k in ("lr", "weight_decay", *self._hyper_names) if k not in group]
            if missing:
                raise ValueError(f"{where} lacks {', '.join(map(repr, missing))}, which "
                                 f"{type(self).__name__} needs")
            _, hyper = self._check_group(group, where)
            names = self.state_names(hyper)
            for index in group["params"]:
                state = state_dict["state"].get(index, {})
                lacking = [k for k in names if state and state.get(k) is None]
                if lacking:
                    raise ValueError(f"state_dict['state'][{index}] lacks "
                                     f"{', '.join(map(repr, lacking))}, which "
                                     f"{type(self).__name__} keeps")
        super().load_state_dict(state_dict)
        for state in self.state.values():
            state["step"] = int(state.get("step", 0))
            for key in [k for k, v in state.items() if v is None]:
                del state[key]                             # torch's SGD keeps momentum_buffer=None

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient.

        Raises ``ValueError`` before changing anything if any gradient holds
        NaN or inf, a group's hyperparameters were set to invalid values, or a
        schedule's learning rate is not finite.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        work = []                               # (group, hyper, weight decay, [(p, lr, t)])
        for group in self.param_groups:
            weight_decay, hyper = self._check_group(group)
            entries = []
            for p in group["params"]:
                if p.grad is not None:
                    t = self.state.get(p, {}).get("step", 0)   # no state entry made yet
                    entries.append((p, schedules.lr_at(group["lr"], t), t + 1))
            work.append((group, hyper, weight_decay, entries))
        grads = [p.grad for *_, entries in work for p, _, _ in entries]
        if any(g.is_sparse for g in grads):
            raise TypeError("grads: sparse gradients are not supported; the step was not taken")
        if not all_finite_tensors(grads):
            raise ValueError("grads contain NaN or infinite values; the step was not taken")
        for group, hyper, weight_decay, entries in work:
            for (device, _, t), (lr, params) in _buckets(entries).items():
                states = [self.state[p] for p in params]
                for p, state in zip(params, states):
                    if not state:
                        state.update(rules.init_state(self, p, hyper))
                    state["step"] = t
                use_foreach = group.get("foreach")            # None: torch.optim's choice
                if use_foreach is None:
                    use_foreach = device.type == "cuda" and not group.get("fused")
                if group.get("fused") and self.elementwise:
                    at_step = {k: _as_tensor(v, device)
                               for k, v in self.per_step(lr, t, **hyper).items()}
                    _compiled_group_update()(type(self), params, [p.grad for p in params], states,
                                             _as_tensor(lr, device), weight_decay, at_step, hyper)
                elif use_foreach and self.elementwise:
                    rules.apply_update(self, TensorList(params), TensorList(p.grad for p in params),
                                       {k: TensorList(s[k] for s in states)
                                        for k in self.state_names(hyper)},
                                       lr, t, weight_decay, hyper)
                else:
                    for p, state in zip(params, states):
                        rules.apply_update(self, p, p.grad, state, lr, t, weight_decay, hyper)
        return loss


def _switch(name, value):
    """``foreach`` or ``fused``: None, True or False."""
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"{name} must be None, True or False, got {value!r}")
    return value


def _group_update(rule, params, grads, states, lr, weight_decay, at_step, hyper):
    """rules.update_arrays on each of a group's tensors (one graph for the whole group)."""
    for param, grad, state in zip(params, grads, states):
        rules.update_arrays(rule, param, grad, state, lr, weight_decay, at_step, hyper)


def _as_tensor(number, device):
    """A number as a 0-d float64 tensor: a compiled update takes a new learning rate or bias
    correction as an input then, instead of compiling again or recomputing it for every entry."""
    return torch.tensor(number, dtype=torch.float64, device=device)


@functools.cache
def _compiled_group_update():
    """_group_update compiled by torch.compile (made on first use; compiles on first call)."""
    return torch.compile(_group_update)


def _buckets(entries):
    """(device, dtype, step) -> (lr, tensors): the tensors one foreach call may update together."""
    buckets = {}
    for p, lr, t in entries:
        buckets.setdefault((p.device, p.dtype, t), (lr, []))[1].append(p)
    return buckets


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
