r"""Momentum on a quadratic, one eigendirection at a time.

On :math:`J(\theta) = \tfrac12 \theta^\top A \theta` every eigendirection of
:math:`A` (curvature :math:`\lambda`) evolves on its own. With the convention of
:mod:`gdcore.rules`, :math:`v_t = \beta v_{t-1} + g_t,\ \theta_{t+1} = \theta_t - \alpha v_t`
(heavy ball) or :math:`\theta_{t+1} = \theta_t - \alpha (g_t + \beta v_t)` (Nesterov, as
``torch.optim.SGD(nesterov=True)``), the coordinate :math:`e_t` of
:math:`\theta_t - \theta^*` along that direction and the velocity :math:`v_{t-1}`
obey a 2x2 linear recurrence

.. math::

    \begin{pmatrix} e_{t+1} \\ v_t \end{pmatrix} = M \begin{pmatrix} e_t \\ v_{t-1} \end{pmatrix},
    \qquad
    M_{\text{heavy ball}} = \begin{pmatrix} 1 - \alpha\lambda & -\alpha\beta \\ \lambda & \beta \end{pmatrix},
    \quad
    M_{\text{Nesterov}} = \begin{pmatrix} 1 - \alpha\lambda(1+\beta) & -\alpha\beta^2 \\ \lambda & \beta \end{pmatrix}.

The error shrinks (for large :math:`t`) by the spectral radius of :math:`M`, the
largest modulus of its eigenvalues, per step. ``beta = 0`` is plain gradient descent.
"""
import math

import numpy as np

from . import validate


def _check_beta(beta):
    beta = np.asarray(beta, dtype=float)
    if not np.all((beta >= 0) & (beta < 1)):
        raise ValueError(f"beta must lie in [0, 1), got {beta!r}")
    return beta


def _check_positive(name, value):
    value = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(value) & (value > 0)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return value


def recurrence_matrix(lam, lr, beta, nesterov=False):
    """The 2x2 matrix M that maps (e_t, v_{t-1}) to (e_{t+1}, v_t) along a direction of curvature ``lam``."""
    lam, lr = validate.positive("lam", lam), validate.positive("lr", lr)
    beta = validate.unit_interval("beta", beta)
    pull = lr * lam * (1 + beta) if nesterov else lr * lam
    return np.array([[1 - pull, -lr * beta * (beta if nesterov else 1.0)], [lam, beta]])


def spectral_radius(lr_times_lam, beta, nesterov=False):
    r"""Largest modulus of the eigenvalues of M, as a function of :math:`\alpha\lambda` and :math:`\beta`.

    Both may be arrays (they broadcast), for maps over the :math:`(\alpha\lambda, \beta)`
    plane. The eigenvalues are the roots of :math:`z^2 - \operatorname{tr}(M)\,z + \det M`:
    trace :math:`1 + \beta - \alpha\lambda` and determinant :math:`\beta` for the heavy ball,
    :math:`(1+\beta)(1-\alpha\lambda)` and :math:`\beta(1-\alpha\lambda)` for Nesterov.
    """
    x = _check_positive("lr_times_lam", lr_times_lam)
    beta = _check_beta(beta)
    if nesterov:
        trace, det = (1 + beta) * (1 - x), beta * (1 - x)
    else:
        trace, det = 1 + beta - x, beta + 0 * x
    root = np.sqrt((trace ** 2 - 4 * det).astype(complex))
    radius = np.maximum(abs((trace + root) / 2), abs((trace - root) / 2))
    return radius if radius.ndim else float(radius)


def predicted_rate(eigenvalues, lr, beta=0.0, nesterov=False):
    """The worst spectral radius over ``eigenvalues``: the factor by which the error
    eventually shrinks per step (>= 1: no convergence)."""
    eigenvalues = _check_positive("eigenvalues", eigenvalues)
    lr = validate.positive("lr", lr)
    return float(np.max(spectral_radius(lr * eigenvalues, validate.unit_interval("beta", beta),
                                        nesterov)))


def stability_limit(beta, nesterov=False):
    r"""The largest :math:`\alpha\lambda` that still converges: :math:`2 + 2\beta` for the heavy
    ball, :math:`(2 + 2\beta)/(1 + 2\beta)` for Nesterov (2 for gradient descent, ``beta = 0``)."""
    beta = validate.unit_interval("beta", beta)
    return (2 + 2 * beta) / (1 + 2 * beta) if nesterov else 2 + 2 * beta


def _check_spectrum(lambda_min, lambda_max):
    lambda_min = validate.positive("lambda_min", lambda_min)
    lambda_max = validate.positive("lambda_max", lambda_max)
    if lambda_max < lambda_min:
        raise ValueError(f"lambda_max must be >= lambda_min, got lambda_min={lambda_min!r}, "
                         f"lambda_max={lambda_max!r}")
    return lambda_min, lambda_max


def optimal_gd(lambda_min, lambda_max):
    """Gradient descent's best step 2 / (lambda_min + lambda_max) and its rate (kappa - 1) / (kappa + 1)."""
    lambda_min, lambda_max = _check_spectrum(lambda_min, lambda_max)
    kappa = lambda_max / lambda_min
    return 2 / (lambda_min + lambda_max), (kappa - 1) / (kappa + 1)


def optimal_momentum(lambda_min, lambda_max):
    """The heavy ball's best ``(lr, beta, rate)`` (Polyak 1964):
    lr = (2 / (sqrt(l_min) + sqrt(l_max)))**2, beta = rate**2, rate = (sqrt(kappa) - 1) / (sqrt(kappa) + 1)."""
    lambda_min, lambda_max = _check_spectrum(lambda_min, lambda_max)
    low, high = math.sqrt(lambda_min), math.sqrt(lambda_max)
    rate = (high - low) / (high + low)
    return (2 / (low + high)) ** 2, rate ** 2, rate


def critical_beta(lr_times_lam):
    r"""The :math:`\beta = (1 - \sqrt{\alpha\lambda})^2` at which the heavy ball's two eigenvalues
    meet (critical damping, for :math:`0 < \alpha\lambda \le 1`); both then equal
    :math:`1 - \sqrt{\alpha\lambda}`, the smallest spectral radius any :math:`\beta` gives."""
    x = validate.positive("lr_times_lam", lr_times_lam)
    if x > 1:
        raise ValueError(f"lr_times_lam must be <= 1 for critical damping, got {lr_times_lam!r}")
    return (1 - math.sqrt(x)) ** 2


def measured_rate(errors, start, stop):
    """The geometric mean of errors[t + 1] / errors[t] for start <= t < stop: the measured
    contraction per step. ``errors`` are distances to the minimiser, one per step."""
    errors = np.asarray(errors, dtype=float)
    start = validate.non_negative_int("start", start)
    stop = validate.positive_int("stop", stop)
    if not start < stop < len(errors):
        raise ValueError(f"start and stop must satisfy 0 <= start < stop < len(errors) = "
                         f"{len(errors)}, got start={start}, stop={stop}")
    if not (np.isfinite(errors[[start, stop]]).all() and errors[stop] > 1e-150 and errors[start] > 0):
        raise ValueError(f"errors[{start}] and errors[{stop}] must be finite and above 1e-150 "
                         f"(far from underflow: a norm squares them), got {errors[start]!r} and {errors[stop]!r}")
    return float((errors[stop] / errors[start]) ** (1 / (stop - start)))
