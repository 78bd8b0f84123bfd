"""Self-checks for the exercises: each compares a learner's code with a reference
and says what is wrong, or that it is right.

Every check prints a one-line verdict and returns ``True`` or ``False``, so
a notebook cell shows feedback and a test can assert on it.
"""
import math
import numbers

import numpy as np

from . import validate
from .finite_diff import numerical_gradient
from .optim import SGD
from .train import fit


def _verdict(ok, message):
    print(("✓ " if ok else "✗ ") + message)
    return ok


def _ordinal(n):
    """1 -> '1st', 2 -> '2nd', 3 -> '3rd', 11 -> '11th', 22 -> '22nd'."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


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
        where = f"index {i[0]} (the {_ordinal(i[0] + 1)} coordinate)" if len(i) == 1 else f"index {i}"
        return _verdict(False, f"your gradient differs from the finite difference at {where}: "
                               f"yours {yours[i]:.6g}, finite difference {reference[i]:.6g}")
    return _verdict(True, "your gradient matches the finite difference at every coordinate")


def check_descent_loop(loop, problem, theta0, lr, grad_tol, max_steps=10_000):
    """Compare a hand-written gradient-descent loop with :func:`gdcore.fit` and :class:`gdcore.SGD`.

    ``loop(problem, theta, lr, grad_tol, max_steps)`` must return ``(theta, steps)``:
    the parameters and the number of updates made when it stopped, which should be
    at the first step whose gradient norm is ``<= grad_tol`` (or after ``max_steps``).
    The start ``theta0`` must not already satisfy the rule, and gradient descent
    with ``lr`` must not diverge from it.
    """
    theta0 = np.asarray(theta0, dtype=float)
    if np.linalg.norm(problem.grad(theta0)) <= grad_tol:
        raise ValueError("theta0 already has a gradient norm <= grad_tol; pick a start further away")
    reference = theta0.copy()
    ref_run = fit(problem, SGD(reference, lr=lr), steps=max_steps, grad_tol=grad_tol)
    if ref_run.diverged:
        raise ValueError(f"lr = {lr!r} makes gradient descent diverge from theta0 (at step "
                         f"{ref_run.diverged_at}); pick a smaller lr")
    ref_steps = ref_run.steps_taken
    try:
        theta, steps = loop(problem, theta0.copy(), lr, grad_tol, max_steps)
        theta = np.asarray(theta, dtype=float)
    except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
        return _verdict(False, f"your loop raised {type(exc).__name__}: {exc} "
                               "(it should return the pair (theta, steps))")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        return _verdict(False, f"your loop returned steps = {steps!r} ({type(steps).__name__}); "
                               "it should be the number of updates made, an integer")
    if theta.shape != theta0.shape:
        return _verdict(False, f"your theta has shape {theta.shape}; the start has shape {theta0.shape}")
    norm = float(np.linalg.norm(problem.grad(theta)))
    if steps < ref_steps and norm > grad_tol:
        return _verdict(False, f"your loop stopped after {steps} steps while the gradient norm was "
                               f"still {norm:.3g} > grad_tol = {grad_tol:g}")
    if steps > ref_steps:
        return _verdict(False, f"your loop made {steps} steps, but the gradient norm is <= grad_tol "
                               f"= {grad_tol:g} already after {ref_steps}: test it after every update")
    if steps != ref_steps or not np.allclose(theta, reference, rtol=1e-10, atol=1e-12):
        return _verdict(False, f"your loop ended at {np.round(theta, 6)} after {steps} steps; "
                               f"gradient descent reaches {np.round(reference, 6)} after {ref_steps}: "
                               "check the update theta - lr * grad(theta)")
    return _verdict(True, f"your loop stops after {steps} steps at {np.round(theta, 6)}, "
                          "exactly where gradient descent with the gradient-norm rule stops")


def check_slope(slope_fn, loss_fn, w, h=1e-3, rtol=1e-6, atol=1e-9):
    """Check a learner's central difference: ``slope_fn(loss_fn, w, h)`` should return
    ``(J(w + h) - J(w - h)) / (2h)`` with ``J = loss_fn``, a function of one number.

    A wrong answer is compared with the usual slips (a forward or backward
    difference, a flipped sign, dividing by h instead of 2h) and the verdict
    names the one it matches. Choose ``w`` where J has a non-zero slope and curvature.
    """
    w, h = float(w), validate.positive("h", h)
    try:
        yours = slope_fn(loss_fn, w, h)
    except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
        return _verdict(False, f"your slope function raised {type(exc).__name__}: {exc}")
    try:
        yours = float(yours)
    except (TypeError, ValueError):
        return _verdict(False, f"your slope function returned {yours!r}; it should return one number")
    up, mid, down = float(loss_fn(w + h)), float(loss_fn(w)), float(loss_fn(w - h))
    central = (up - down) / (2 * h)
    slips = [
        ((up - mid) / h, "that is the forward difference (J(w+h) - J(w)) / h, whose error shrinks "
                         "only like h; use both neighbours: (J(w+h) - J(w-h)) / (2h)"),
        ((mid - down) / h, "that is the backward difference (J(w) - J(w-h)) / h, whose error shrinks "
                           "only like h; use both neighbours: (J(w+h) - J(w-h)) / (2h)"),
        (-central, "the sign is flipped: subtract J(w-h) from J(w+h), not the other way round"),
        (2 * central, "that is twice the slope: the two probes are 2h apart, so divide by 2h, not h"),
    ]
    if np.isclose(yours, central, rtol=rtol, atol=atol):
        return _verdict(True, f"your slope {yours:.6g} matches the central difference at w = {w:g}")
    for value, hint in slips:
        if np.isclose(yours, value, rtol=rtol, atol=atol):
            return _verdict(False, f"your slope {yours:.6g} is not the central difference "
                                   f"{central:.6g}: {hint}")
    return _verdict(False, f"your slope {yours:.6g} differs from the central difference "
                           f"(J(w+h) - J(w-h)) / (2h) = {central:.6g} at w = {w:g}, h = {h:g}")


def check_epoch_batches(batches, n, m, shuffled=True):
    """Check one epoch of mini-batch indices over ``n`` samples with batch size ``m``.

    ``batches`` is either the learner's function ``batches(n, m, rng)``, which gets a
    NumPy generator and returns the epoch, or one epoch already made: a list (or any
    iterable) of integer index arrays. A correct epoch has ``ceil(n / m)`` batches of
    ``m`` indices (the last one holds the ``n - (ceil(n / m) - 1) * m`` left over) and
    uses every sample in ``0, ..., n-1`` exactly once. With ``shuffled`` it must also
    be a fresh random order: not data order or its reverse, not a fixed set of
    consecutive blocks whose order alone is shuffled and, for a function, the same
    epoch for the same generator seed and a different one for another seed.
    """
    n, m = validate.positive_int("n", n), validate.positive_int("m", m)
    if callable(batches):
        epochs = [_learner_epoch(batches, n, m, seed) for seed in (0, 0, 1)]
        failed = next((e for e in epochs if isinstance(e, str)), None)
        if failed:
            return _verdict(False, failed)
    else:
        try:
            epochs = [[np.asarray(b) for b in batches]]
        except Exception as exc:  # the learner's generator failed: say how, do not crash the notebook
            return _verdict(False, f"making your batches raised {type(exc).__name__}: {exc}")
    problem = _epoch_problem(epochs[0], n, m)
    if problem:
        return _verdict(False, problem)
    used = np.concatenate(epochs[0])
    if shuffled and n > 2:
        problem = _order_problem(epochs, used, n, m)
        if problem:
            return _verdict(False, problem)
    steps, last = math.ceil(n / m), n - (math.ceil(n / m) - 1) * m
    sizes = f"{steps} batches of {m}" if last == m else \
        f"{steps - 1} batches of {m} and a last one of {last}"
    return _verdict(True, f"{sizes} use each of the {n} samples exactly once"
                          + (", in shuffled order" if shuffled else ""))


def _learner_epoch(make_batches, n, m, seed):
    """The learner's epoch for ``default_rng(seed)`` as a list of arrays, or what went wrong."""
    try:
        return [np.asarray(b) for b in make_batches(n, m, np.random.default_rng(seed))]
    except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
        return f"your batch function raised {type(exc).__name__}: {exc}"


def _epoch_problem(batches, n, m):
    """What is wrong with one epoch's batches as a partition of 0..n-1, or None."""
    for k, b in enumerate(batches):
        if b.ndim == 1 and b.size == 0:
            return f"batch {k} is empty; every batch needs at least one sample"
        if b.ndim != 1 or not np.issubdtype(b.dtype, np.integer):
            return (f"batch {k} is not a 1-D array of integer sample indices "
                    f"(shape {b.shape}, dtype {b.dtype})")
        outside = b[(b < 0) | (b >= n)]
        if outside.size:
            return f"batch {k} holds index {int(outside[0])}, outside 0..{n - 1}"
    used = np.concatenate(batches) if batches else np.array([], dtype=int)
    counts = np.bincount(used, minlength=n)
    if (counts > 1).any():
        i = int(np.argmax(counts > 1))
        where = [k for k, b in enumerate(batches) for _ in range(int((b == i).sum()))]
        return (f"sample {i} is used {counts[i]} times (in batches {where}) and "
                f"{int((counts > 1).sum())} samples are repeated in all; in an epoch "
                "each sample belongs to exactly one batch (draw without replacement)")
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0)
        return (f"{missing.size} of the {n} samples are never used, the first is sample "
                f"{int(missing[0])}; an epoch uses every sample once (keep the last, smaller batch)")
    steps = math.ceil(n / m)
    if len(batches) != steps:
        return (f"you made {len(batches)} batches; n = {n} samples in batches of "
                f"m = {m} need ceil(n / m) = {steps}")
    for k, b in enumerate(batches[:-1]):  # then the last one holds exactly what is left over
        if b.size != m:
            return f"batch {k} has {b.size} samples; expected m = {m} (only the last batch may be smaller)"
    return None


def _order_problem(epochs, used, n, m):
    """Why a valid epoch (or three, from seeds 0, 0, 1) is not a fresh random order, or None."""
    if np.array_equal(used, np.arange(n)):
        return ("every sample is used once, but in data order 0, 1, 2, ...: "
                "shuffle the indices before cutting them into batches")
    if np.array_equal(used, np.arange(n)[::-1]):
        return ("every sample is used once, but in reversed data order n-1, n-2, ...: reversing "
                "is not shuffling; draw a random permutation, e.g. rng.permutation(n)")
    if len(epochs[0]) > 1 and m > 1 and all(_is_aligned_block(b, m) for b in epochs[0]):
        return _fixed_partition
    if len(epochs) > 1:
        same_seed, other_seed = epochs[1], epochs[2]
        if not _same_epoch(epochs[0], same_seed):
            return ("two calls with generators of the same seed gave different epochs: draw the "
                    "order from the rng argument (rng.permutation), not from np.random or a new "
                    "generator, so that runs can be repeated")
        if _same_epoch(epochs[0], other_seed):
            return ("generators with different seeds gave the same epoch: your function ignores "
                    "its rng argument; draw the order from it (rng.permutation(n))")
        if m > 1 and _partition(epochs[0]) == _partition(other_seed):
            return _fixed_partition
    return None


_fixed_partition = ("the batches are fixed groups of samples and only their order is "
                    "shuffled: shuffle the samples themselves (rng.permutation(n)), then cut "
                    "the permutation into batches")


def _is_aligned_block(batch, m):
    """Whether ``batch`` holds exactly the samples k*m, k*m + 1, ... of one unshuffled slice."""
    start = int(batch.min())
    return start % m == 0 and np.array_equal(np.sort(batch), np.arange(start, start + batch.size))


def _partition(batches):
    return {frozenset(b.tolist()) for b in batches}


def _same_epoch(first, second):
    return len(first) == len(second) and all(np.array_equal(a, b) for a, b in zip(first, second))


def check_linear_gradient(grad_fn, n=7, d=3, seed=0):
    r"""Check ``grad_fn(X, y, theta)`` against the least-squares gradient
    :math:`X^\top(X\theta - y)/n` of :math:`J = \lVert X\theta - y\rVert^2/(2n)` (gdcore's
    convention) on random data with ``n`` samples and ``d`` features.

    ``n`` and ``d`` must differ, so that a transposed product fails instead of passing
    by luck. A wrong answer is compared with the usual slips (a missing 1/n, the 2/n of
    the convention without the 1/2, a flipped sign, a forgotten ``y``, per-sample
    gradients left unaveraged) and the verdict names the one it matches.
    """
    n, d = validate.positive_int("n", n), validate.positive_int("d", d)
    if n == d:
        raise ValueError(f"n and d must differ (got n = d = {n}), or a transposed product goes unnoticed")
    rng = np.random.default_rng(seed)
    X, y, theta = rng.standard_normal((n, d)), rng.standard_normal(n), rng.standard_normal(d)
    reference = X.T @ (X @ theta - y) / n
    try:
        yours = np.asarray(grad_fn(X.copy(), y.copy(), theta.copy()), dtype=float)
    except ValueError as exc:
        return _verdict(False, f"your function raised ValueError ({exc}). The shapes do not line up: "
                               f"X is (n, d) = ({n}, {d}), so X @ theta - y has n entries and "
                               "X.T @ (X @ theta - y) has d; check which product needs the transpose")
    except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
        return _verdict(False, f"your function raised {type(exc).__name__}: {exc}")
    if yours.shape == (n, d) and np.allclose(yours.mean(axis=0), reference):
        return _verdict(False, "you returned the n per-sample gradients, one per row: "
                               "average them over the samples (axis 0)")
    if yours.shape == (n,):
        return _verdict(False, f"your result has one entry per sample (shape ({n},)) but the gradient "
                               f"has one per parameter (shape ({d},)), as X.T @ (X @ theta - y) has")
    if yours.shape != (d,):
        return _verdict(False, f"your result has shape {yours.shape}; the gradient has shape ({d},), "
                               "like theta")
    if np.allclose(yours, reference):
        return _verdict(True, f"your gradient equals X.T @ (X @ theta - y) / n on random data "
                              f"(n = {n}, d = {d})")
    slips = [
        (-reference, "the sign is flipped: the residual is prediction minus target, X @ theta - y"),
        (n * reference, "it is n times too large: the 1/n that averages over the samples is missing"),
        (2 * reference, "it is twice the expected gradient: 2/n X.T (X theta - y) belongs to "
                        "J = ||X theta - y||^2 / n; gdcore's J has an extra 1/2, so drop the 2"),
        (X.T @ (X @ theta) / n, "it does not depend on y: the residual is X @ theta - y, not X @ theta"),
    ]
    for expected, message in slips:
        if np.allclose(yours, expected):
            return _verdict(False, message)
    i = int(np.argmax(~np.isclose(yours, reference)))
    return _verdict(False, f"your gradient differs at coordinate {i}: yours {yours[i]:.6g}, "
                           f"expected {reference[i]:.6g}")


def check_schedule(schedule_fn, reference, steps=100, rtol=1e-6, atol=1e-12):
    """Compare a learner's learning rate ``schedule_fn(t)`` with ``reference(t)`` (for example a
    :mod:`gdcore.schedules` schedule) at steps t = 0 .. ``steps - 1``, counted from 0 as in gdcore.

    ``schedule_fn(t)`` must return one real number (a Python or NumPy scalar); anything
    else (None, an array, even of one element) gets the same verdict on every NumPy
    version. A mismatch names the first step that differs, both values and the
    difference, and says so when the whole schedule is shifted by one step.
    """
    steps = validate.positive_int("steps", steps)
    expected = np.array([float(reference(t)) for t in range(steps)])
    yours = []
    for t in range(steps):
        try:
            value = schedule_fn(t)
        except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
            return _verdict(False, f"your schedule raised {type(exc).__name__} at step {t}: {exc}")
        if not _is_real_number(value):
            shape = f" of shape {np.shape(value)}" if np.ndim(value) else ""
            return _verdict(False, f"your schedule returned {value!r} ({type(value).__name__}"
                                   f"{shape}) at step {t}; it should return one number, the rate")
        yours.append(float(value))
    yours = np.array(yours)
    wrong = ~np.isclose(yours, expected, rtol=rtol, atol=atol)
    if not wrong.any():
        return _verdict(True, f"your schedule matches the reference at all {steps} steps "
                              f"t = 0 .. {steps - 1}")
    t = int(np.argmax(wrong))
    message = (f"your schedule first differs at step {t}: yours {yours[t]:.6g}, reference "
               f"{expected[t]:.6g} (off by {yours[t] - expected[t]:+.3g}); "
               f"{int(wrong.sum())} of {steps} steps differ")
    if steps > 1 and np.allclose(yours[1:], expected[:-1], rtol=rtol, atol=atol):
        message += ". It runs one step late: count t from 0, so step 0 uses the initial rate"
    elif steps > 1 and np.allclose(yours[:-1], expected[1:], rtol=rtol, atol=atol):
        message += ". It runs one step early: count t from 0, so step 0 uses the initial rate"
    if (yours < 0).any():
        message += f". It turns negative at step {int(np.argmax(yours < 0))}: a rate must stay >= 0"
    return _verdict(False, message)


def _is_real_number(value):
    """A Python or NumPy real number, or a 0-d array of one; not bool, not a sized array."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and np.issubdtype(value.dtype, np.number) and \
            not np.issubdtype(value.dtype, np.complexfloating)
    return isinstance(value, numbers.Real)
