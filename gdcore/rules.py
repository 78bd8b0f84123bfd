r"""Update rules, each written once, on NumPy arrays and torch tensors alike.

Notation: :math:`\theta` the parameter, :math:`g` its gradient, :math:`\alpha`
the learning rate, :math:`t = 1, 2, \dots` the step number. Each class below
holds one method's update (written on arrays, in place), its state arrays and
its hyperparameters with ``torch.optim``'s defaults. The NumPy optimisers
(:mod:`gdcore.optim`) and the torch optimisers (:mod:`gdcore.torch_optim`)
are these classes combined with a base that stores parameters and state, and
both step through :func:`apply_update`: one formula serves both paths.

Conventions (and how they map to other books and to ``torch.optim``):

* Momentum: :math:`v \leftarrow \beta v + g,\ \theta \leftarrow \theta - \alpha v`.
  This is ``torch.optim.SGD(momentum=beta, dampening=0)``. The "damped" form
  :math:`v \leftarrow \beta v + (1-\beta) g` is the same method with
  :math:`\alpha` scaled by :math:`1/(1-\beta)`; the form with :math:`\alpha`
  inside, :math:`u \leftarrow \beta u - \alpha g,\ \theta \leftarrow \theta + u`,
  is identical while :math:`\alpha` is constant (:math:`u = -\alpha v`).
* Nesterov: :math:`v \leftarrow \beta v + g,\ \theta \leftarrow \theta - \alpha (g + \beta v)`,
  the look-ahead written at the current point, as ``torch.optim.SGD(nesterov=True)``.
* Adagrad, RMSprop, Adam: :math:`\varepsilon` is added *outside* the square
  root, :math:`\theta \leftarrow \theta - \alpha\, \hat m / (\sqrt{\hat v} + \varepsilon)`,
  as in Kingma & Ba (2015) and ``torch.optim``.
* Names: hyperparameters and state arrays carry ``torch.optim``'s names
  (``momentum``, ``alpha``, ``betas``, ``eps``, ``amsgrad``;
  ``momentum_buffer``, ``sum``, ``square_avg``, ``exp_avg``, ``exp_avg_sq``,
  ``max_exp_avg_sq``), so that torch's schedulers and checkpoints work with
  gdcore's optimisers. Where a constructor keyword differs it is named in
  the class's docstring: Momentum's ``beta`` is ``momentum``, RMSprop's
  ``beta`` is ``alpha``.
* Weight decay :math:`\lambda`: coupled (L2) for every rule,
  :math:`g \leftarrow g + \lambda \theta` before the rule; decoupled for
  AdamW, :math:`\theta \leftarrow \theta - \alpha \lambda \theta` before the
  rule (Loshchilov & Hutter, 2019).
"""
import math

from . import validate
from .backend import addcdiv_, addcmul_, lerp_, namespace


class Rule:
    """Base of every rule: ``update`` changes ``param`` and ``state`` in place.

    A constructor passes ``**options`` on to the path's base class (the torch
    path's ``foreach``). ``update(param, grad, state, **at_step, **hyper)``
    receives the numbers of the step, ``at_step = per_step(lr, t, **hyper)``
    (by default ``lr`` and ``t`` themselves), and the rule's hyperparameters
    under ``torch.optim``'s names; computing the numbers that depend on the
    step once, apart from the arithmetic on arrays, lets a compiled update
    take them as plain inputs instead of recomputing them for every entry;
    ``keywords`` maps a name to the constructor keyword that sets it where
    the two differ. ``fixed`` lists the hyperparameters of the matching
    ``torch.optim`` class that the rule does not vary, with the value the
    rule implies (a parameter group that carries another value is refused).
    ``elementwise`` says that the update acts entry by entry (no norms, no
    matrix products), so the NumPy path may apply it to a large array block
    by block, and the torch path to all of a group's tensors at once; a rule
    that mixes entries must set it to False.
    """

    decoupled_decay = False
    elementwise = True
    keywords = {}
    fixed = {"maximize": False}

    @staticmethod
    def state_names(hyper):
        """The names of the state arrays for these hyperparameters (``torch.optim``'s names)."""
        return ()

    @staticmethod
    def per_step(lr, t, **hyper):
        """The numbers of step ``t`` (with learning rate ``lr``) that ``update`` takes."""
        return {"lr": lr, "t": t}

    @staticmethod
    def update(param, grad, state, lr, t):
        raise NotImplementedError


class SGD(Rule):
    """Gradient descent: theta <- theta - lr * g  (``torch.optim.SGD``)."""

    fixed = {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "maximize": False}

    def __init__(self, params, lr=1e-3, weight_decay=0.0, **options):
        super().__init__(params, lr, weight_decay, **options)

    @staticmethod
    def update(param, grad, state, lr, t):
        param -= lr * grad


class Momentum(Rule):
    """Heavy-ball momentum (Polyak 1964): v <- beta * v + g;  theta <- theta - lr * v.

    ``torch.optim.SGD(momentum=beta)`` with ``dampening=0``; ``beta`` is
    stored as ``momentum`` and v as ``momentum_buffer``, torch's names.
    """

    keywords = {"momentum": "beta"}
    fixed = {"dampening": 0.0, "nesterov": False, "maximize": False}

    def __init__(self, params, lr=1e-3, beta=0.9, weight_decay=0.0, **options):
        super().__init__(params, lr, weight_decay, momentum=beta, **options)

    @staticmethod
    def state_names(hyper):
        return ("momentum_buffer",)

    @staticmethod
    def update(param, grad, state, lr, t, momentum):
        v = state["momentum_buffer"]
        v *= momentum
        v += grad
        param -= lr * v


class Nesterov(Momentum):
    """Nesterov momentum (Nesterov 1983): v <- beta * v + g;  theta <- theta - lr * (g + beta * v).

    ``torch.optim.SGD(momentum=beta, nesterov=True)``.
    """

    fixed = {"dampening": 0.0, "nesterov": True, "maximize": False}

    @staticmethod
    def update(param, grad, state, lr, t, momentum):
        v = state["momentum_buffer"]
        v *= momentum
        v += grad
        param -= lr * (grad + momentum * v)


class Adagrad(Rule):
    """Adagrad (Duchi et al. 2011): G <- G + g**2;  theta <- theta - lr * g / (sqrt(G) + eps).

    ``torch.optim.Adagrad`` with ``lr_decay=0`` and
    ``initial_accumulator_value=0``; G is stored as ``sum``.
    """

    fixed = {"lr_decay": 0.0, "initial_accumulator_value": 0.0, "maximize": False}

    def __init__(self, params, lr=1e-2, eps=1e-10, weight_decay=0.0, **options):
        super().__init__(params, lr, weight_decay, eps=eps, **options)

    @staticmethod
    def state_names(hyper):
        return ("sum",)

    @staticmethod
    def update(param, grad, state, lr, t, eps):
        sum_sq = state["sum"]
        addcmul_(sum_sq, grad, grad, 1.0)                 # G <- G + g^2
        denom = namespace(param).sqrt(sum_sq)
        denom += eps                                      # sqrt(G) + eps
        addcdiv_(param, grad, denom, -lr)                 # theta <- theta - lr g / denom


class RMSprop(Rule):
    """RMSprop (Tieleman & Hinton 2012): s <- beta * s + (1 - beta) * g**2;  theta <- theta - lr * g / (sqrt(s) + eps).

    ``torch.optim.RMSprop`` (``momentum=0``, ``centered=False``); ``beta`` is
    torch's ``alpha`` (default 0.99 in both) and s is stored as ``square_avg``.
    """

    keywords = {"alpha": "beta"}
    fixed = {"momentum": 0.0, "centered": False, "maximize": False}

    def __init__(self, params, lr=1e-2, beta=0.99, eps=1e-8, weight_decay=0.0, **options):
        super().__init__(params, lr, weight_decay, alpha=beta, eps=eps, **options)

    @staticmethod
    def state_names(hyper):
        return ("square_avg",)

    @staticmethod
    def update(param, grad, state, lr, t, alpha, eps):
        avg_sq = state["square_avg"]
        avg_sq *= alpha
        addcmul_(avg_sq, grad, grad, 1 - alpha)           # s <- beta s + (1 - beta) g^2
        denom = namespace(param).sqrt(avg_sq)
        denom += eps                                      # sqrt(s) + eps
        addcdiv_(param, grad, denom, -lr)                 # theta <- theta - lr g / denom


class Adam(Rule):
    """Adam (Kingma & Ba 2015) with bias correction, as ``torch.optim.Adam``::

        m <- b1 * m + (1 - b1) * g          v <- b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)             v_hat = v / (1 - b2**t)
        theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)

    ``amsgrad=True`` (Reddi, Kale & Kumar 2018) divides by the largest ``v``
    so far instead, ``v_max <- max(v_max, v)``, ``v_hat = v_max / (1 - b2**t)``,
    as ``torch.optim.Adam(amsgrad=True)``. State: ``exp_avg`` (m),
    ``exp_avg_sq`` (v) and, with amsgrad, ``max_exp_avg_sq`` (v_max).
    ``weight_decay`` is L2 (added to g); :class:`AdamW` decouples it.
    """

    fixed = {"maximize": False, "decoupled_weight_decay": False}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, **options):
        super().__init__(params, lr, weight_decay, betas=betas, eps=eps, amsgrad=amsgrad,
                         **options)

    @staticmethod
    def state_names(hyper):
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if hyper["amsgrad"] else ())

    @staticmethod
    def per_step(lr, t, betas, eps, amsgrad):
        """Bias corrections: the step size lr / (1 - b1**t) and sqrt(1 - b2**t)."""
        beta1, beta2 = betas
        return {"step_size": lr / (1 - beta1 ** t),
                "bias_correction2_sqrt": math.sqrt(1 - beta2 ** t)}

    @staticmethod
    def update(param, grad, state, step_size, bias_correction2_sqrt, betas, eps, amsgrad):
        beta1, beta2 = betas
        m, v = state["exp_avg"], state["exp_avg_sq"]
        xp = namespace(param)
        lerp_(m, grad, 1 - beta1)                         # m <- b1 m + (1 - b1) g
        v *= beta2
        addcmul_(v, grad, grad, 1 - beta2)                # v <- b2 v + (1 - b2) g^2
        if amsgrad:
            v = xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])  # v_max
        denom = xp.sqrt(v)
        denom /= bias_correction2_sqrt
        denom += eps                                      # sqrt(v_hat) + eps
        addcdiv_(param, m, denom, -step_size)             # theta <- theta - lr m_hat / denom


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019): theta <- theta * (1 - lr * weight_decay), then the Adam step.

    ``torch.optim.AdamW`` (default ``weight_decay=1e-2``).
    """

    decoupled_decay = True
    fixed = {"maximize": False, "decoupled_weight_decay": True}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, **options):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, **options)


def init_state(rule, param, hyper):
    """Zero-filled state arrays shaped like ``param``."""
    xp = namespace(param)
    return {key: xp.zeros_like(param) for key in rule.state_names(hyper)}


def apply_update(rule, param, grad, state, lr, t, weight_decay, hyper):
    """Apply weight decay in the rule's style, then the rule itself, in place, at step ``t``."""
    update_arrays(rule, param, grad, state, lr, weight_decay, rule.per_step(lr, t, **hyper), hyper)


def update_arrays(rule, param, grad, state, lr, weight_decay, at_step, hyper):
    """:func:`apply_update` given the step's numbers ``at_step = rule.per_step(lr, t, **hyper)``."""
    if weight_decay:
        if rule.decoupled_decay:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    rule.update(param, grad, state, **at_step, **hyper)


def _betas(name, value):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{name} must be a pair (beta1, beta2), got {value!r}")
    return (validate.unit_interval(f"{name}[0]", value[0]),
            validate.unit_interval(f"{name}[1]", value[1]))


#: The check of each hyperparameter, by torch.optim's name.
CHECKS = {"momentum": validate.unit_interval, "alpha": validate.unit_interval, "betas": _betas,
          "eps": validate.non_negative, "amsgrad": validate.boolean}


def check_hyperparameters(rule, weight_decay, hyper):
    """Validated copies of ``weight_decay`` and the rule's hyperparameters.

    ``hyper`` uses torch.optim's names; a message names the constructor keyword
    (``rule.keywords``) where it differs.
    """
    checked = {}
    for key, value in hyper.items():
        if key not in CHECKS:
            raise TypeError(f"{key} is not an option of {rule.__name__} on this path")
        checked[key] = CHECKS[key](rule.keywords.get(key, key), value)
    return validate.non_negative("weight_decay", weight_decay), checked


def check_fixed(rule, group, where="param_group"):
    """Refuse a group whose fixed ``torch.optim`` hyperparameters differ from the rule's."""
    for key, value in rule.fixed.items():
        if key in group and group[key] != value:
            raise ValueError(f"{key}: gdcore's {rule.__name__} has {key}={value!r}, but "
                             f"{where} has {key}={group[key]!r}")
