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

    ``elementwise`` says that the update acts entry by entry (no norms, no
    matrix products), so the NumPy path may apply it to a large array block
    by block; a rule that mixes entries must set it to False.
    """

    decoupled_decay = False
    elementwise = True

    @staticmethod
    def state_names(hyper):
        """The names of the state arrays for these hyperparameters (``torch.optim``'s names)."""
        return ()

    @staticmethod
    def update(param, grad, state, lr, t):
        raise NotImplementedError


class SGD(Rule):
    """Gradient descent: theta <- theta - lr * g  (``torch.optim.SGD``)."""

    def __init__(self, params, lr=1e-3, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)

    @staticmethod
    def update(param, grad, state, lr, t):
        param -= lr * grad


class Momentum(Rule):
    """Heavy-ball momentum (Polyak 1964): v <- beta * v + g;  theta <- theta - lr * v.

    ``torch.optim.SGD(momentum=beta)`` with ``dampening=0``.
    """

    @staticmethod
    def state_names(hyper):
        return ("momentum_buffer",)

    def __init__(self, params, lr=1e-3, beta=0.9, weight_decay=0.0):
        super().__init__(params, lr, weight_decay, beta=beta)

    @staticmethod
    def update(param, grad, state, lr, t, beta):
        v = state["momentum_buffer"]
        v *= beta
        v += grad
        param -= lr * v


class Nesterov(Momentum):
    """Nesterov momentum (Nesterov 1983): v <- beta * v + g;  theta <- theta - lr * (g + beta * v).

    ``torch.optim.SGD(momentum=beta, nesterov=True)``.
    """

    @staticmethod
    def update(param, grad, state, lr, t, beta):
        v = state["momentum_buffer"]
        v *= beta
        v += grad
        param -= lr * (grad + beta * v)


class Adagrad(Rule):
    """Adagrad (Duchi et al. 2011): G <- G + g**2;  theta <- theta - lr * g / (sqrt(G) + eps).

    ``torch.optim.Adagrad`` with ``lr_decay=0`` and ``initial_accumulator_value=0``.
    """

    @staticmethod
    def state_names(hyper):
        return ("sum",)

    def __init__(self, params, lr=1e-2, eps=1e-10, weight_decay=0.0):
        super().__init__(params, lr, weight_decay, eps=eps)

    @staticmethod
    def update(param, grad, state, lr, t, eps):
        sum_sq = state["sum"]
        addcmul_(sum_sq, grad, grad, 1.0)                 # G <- G + g^2
        denom = namespace(param).sqrt(sum_sq)
        denom += eps                                      # sqrt(G) + eps
        addcdiv_(param, grad, denom, -lr)                 # theta <- theta - lr g / denom


class RMSprop(Rule):
    """RMSprop (Tieleman & Hinton 2012): s <- beta * s + (1 - beta) * g**2;  theta <- theta - lr * g / (sqrt(s) + eps).

    ``beta`` is ``torch.optim.RMSprop``'s ``alpha`` (default 0.99 in both).
    """

    @staticmethod
    def state_names(hyper):
        return ("square_avg",)

    def __init__(self, params, lr=1e-2, beta=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay, beta=beta, eps=eps)

    @staticmethod
    def update(param, grad, state, lr, t, beta, eps):
        avg_sq = state["square_avg"]
        avg_sq *= beta
        addcmul_(avg_sq, grad, grad, 1 - beta)            # s <- beta s + (1 - beta) g^2
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

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False):
        super().__init__(params, lr, weight_decay, betas=betas, eps=eps, amsgrad=amsgrad)

    @staticmethod
    def state_names(hyper):
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if hyper["amsgrad"] else ())

    @staticmethod
    def update(param, grad, state, lr, t, betas, eps, amsgrad):
        beta1, beta2 = betas
        m, v = state["exp_avg"], state["exp_avg_sq"]
        xp = namespace(param)
        lerp_(m, grad, 1 - beta1)                         # m <- b1 m + (1 - b1) g
        v *= beta2
        addcmul_(v, grad, grad, 1 - beta2)                # v <- b2 v + (1 - b2) g^2
        if amsgrad:
            v = xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])  # v_max
        denom = xp.sqrt(v)
        denom /= math.sqrt(1 - beta2 ** t)
        denom += eps                                      # sqrt(v_hat) + eps
        addcdiv_(param, m, denom, -lr / (1 - beta1 ** t))  # theta <- theta - lr m_hat / denom


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019): theta <- theta * (1 - lr * weight_decay), then the Adam step.

    ``torch.optim.AdamW`` (default ``weight_decay=1e-2``).
    """

    decoupled_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


def init_state(rule, param, hyper):
    """Zero-filled state arrays shaped like ``param``."""
    xp = namespace(param)
    return {key: xp.zeros_like(param) for key in rule.state_names(hyper)}


def apply_update(rule, param, grad, state, lr, t, weight_decay, hyper):
    """Apply weight decay in the rule's style, then the rule itself, in place."""
    if weight_decay:
        if rule.decoupled_decay:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    rule.update(param, grad, state, lr, t, **hyper)


def check_hyperparameters(rule, weight_decay, hyper):
    """Validated copies of ``weight_decay`` and the rule's hyperparameters."""
    checked = {}
    for key, value in hyper.items():
        if key == "beta":
            checked[key] = validate.unit_interval("beta", value)
        elif key == "betas":
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise ValueError(f"betas must be a pair (beta1, beta2), got {value!r}")
            checked[key] = (validate.unit_interval("betas[0]", value[0]),
                            validate.unit_interval("betas[1]", value[1]))
        elif key == "eps":
            checked[key] = validate.non_negative("eps", value)
        elif key == "amsgrad":
            checked[key] = validate.boolean("amsgrad", value)
        else:
            raise TypeError(f"{rule.__name__} has no hyperparameter {key!r}")
    return validate.non_negative("weight_decay", weight_decay), checked
