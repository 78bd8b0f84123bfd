r"""Finite-difference gradients, the bridge from probing a loss to its derivative.

Forward: :math:`\partial_i J \approx (J(\theta + h e_i) - J(\theta)) / h`, error :math:`O(h)`,
:math:`d + 1` loss evaluations. Central:
:math:`\partial_i J \approx (J(\theta + h e_i) - J(\theta - h e_i)) / (2h)`, error :math:`O(h^2)`,
:math:`2d` evaluations.
"""
from collections import namedtuple

import numpy as np

from . import validate

FiniteDifference = namedtuple("FiniteDifference", ["grad", "evaluations"])
FiniteDifference.__doc__ = "A finite-difference gradient and the number of loss evaluations it cost."


def numerical_gradient(loss, theta, h=1e-6, method="central"):
    """Estimate the gradient of ``loss`` (a function of one NumPy array) at ``theta``.

    ``theta`` must be a NumPy array (a tensor is refused: convert it with
    :func:`gdcore.to_numpy`) and is not changed; ``loss`` is called on a float64 copy.
    Returns the named tuple ``FiniteDifference(grad, evaluations)``, not an array:
    compare ``numerical_gradient(loss, theta).grad`` with an analytic gradient.
    """
    validate.numpy_float_array("theta", theta)
    h = validate.positive("h", h)
    validate.choice("method", method, ("forward", "central"))
    point = np.array(theta, dtype=float)
    grad = np.zeros_like(point)
    evaluations = 0
    if method == "forward":
        base = float(loss(point))
        evaluations += 1
    for i in np.ndindex(point.shape):
        original = point[i]
        point[i] = original + h
        up = float(loss(point))
        if method == "forward":
            grad[i] = (up - base) / h
            evaluations += 1
        else:
            point[i] = original - h
            grad[i] = (up - float(loss(point))) / (2 * h)
            evaluations += 2
        point[i] = original
    return FiniteDifference(grad, evaluations)
