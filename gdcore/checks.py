"""Self-checks for the exercises: each compares a learner's code with a reference
and says what is wrong, or that it is right.

Every check prints a one-line verdict and returns ``True`` or ``False``, so
a notebook cell shows feedback and a test can assert on it.
"""
import numpy as np

from .finite_diff import numerical_gradient


def _verdict(ok, message):
    print(("✓ " if ok else "✗ ") + message)
    return ok


def check_gradient(grad_fn, loss_fn, theta, rtol=1e-5, atol=1e-8):
    """Compare ``grad_fn(theta)`` with a central finite difference of ``loss_fn`` at ``theta``."""
    theta = np.asarray(theta, dtype=float)
    try:
        yours = np.asarray(grad_fn(theta.copy()), dtype=float)
    except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
        return _verdict(False, f"your gradient function raised {type(exc).__name__}: {exc}")
    if yours.shape != theta.shape:
        return _verdict(False, f"your gradient has shape {yours.shape}; theta has shape {theta.shape}")
    reference = numerical_gradient(loss_fn, theta).grad
    wrong = ~np.isclose(yours, reference, rtol=rtol, atol=atol)
    if wrong.any():
        i = tuple(int(k) for k in np.argwhere(wrong)[0])
        where = i[0] if len(i) == 1 else i
        return _verdict(False, f"your gradient differs from the finite difference at coordinate "
                               f"{where}: yours {yours[i]:.6g}, finite difference {reference[i]:.6g}")
    return _verdict(True, "your gradient matches the finite difference at every coordinate")
