"""Self-checks for the exercises: each compares a learner's code with a reference
and says what is wrong, or that it is right.

Every check prints a one-line verdict and returns ``True`` or ``False``, so
a notebook cell shows feedback and a test can assert on it.
"""
import math
import numbers
import warnings

import numpy as np

from . import validate
from .backend import logsumexp_rows
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


def _quietly(call, *args):
    """``call(*args)`` with NumPy's overflow and invalid-value warnings silenced: a learner's
    loop that diverges is reported in the verdict, not by a flood of RuntimeWarnings."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return call(*args)


def _diagnose_update(theta0, theta1, grad0, lr):
    """What one update from ``theta0`` to ``theta1`` did, compared with ``theta0 - lr * grad0``;
    None when it is right."""
    step = theta1 - theta0
    if not np.all(np.isfinite(theta1)):
        return f"one update took theta to {theta1}: it must stay finite"
    if np.allclose(step, -lr * grad0, rtol=1e-10, atol=1e-12):
        return None
    if np.allclose(step, lr * grad0, rtol=1e-10, atol=1e-12):
        return ("your update moves along the gradient, uphill: theta + lr * grad(theta). "
                "Subtract it: theta - lr * grad(theta)")
    rate = -float(step @ grad0) / float(grad0 @ grad0)  # the rate that best explains the step
    if rate > 0 and not math.isclose(rate, lr, rel_tol=1e-8) \
            and np.allclose(step, -rate * grad0, rtol=1e-10, atol=1e-12):
        return (f"your update steps with learning rate {rate:.6g}, not the lr = {lr:g} passed "
                "to your loop: use the argument lr instead of a number written into the code")
    return (f"one update from {np.round(theta0, 6)} gave {np.round(theta1, 6)}; "
            f"theta - lr * grad(theta) is {np.round(theta0 - lr * grad0, 6)}: check the update")


def check_descent_loop(loop, problem, theta0, lr, grad_tol, max_steps=10_000):
    """Compare a hand-written gradient-descent loop with :func:`gdcore.fit` and :class:`gdcore.SGD`.

    ``loop(problem, theta, lr, grad_tol, max_steps)`` must return ``(theta, steps)``:
    the parameters and the number of updates made when it stopped, which should be
    at the first step whose gradient norm is ``<= grad_tol`` (or after ``max_steps``).
    The start ``theta0`` must not already satisfy the rule, and gradient descent
    with ``lr`` must not diverge from it.

    The loop is run twice: with ``max_steps = 1``, to check the update itself (sign,
    learning rate), and with ``max_steps``, to check where and after how many updates
    it stops (the rule, an update too many, a miscounted step). Overflow in a
    learner's loop is reported in the verdict, without RuntimeWarnings.
    """
    theta0 = np.asarray(theta0, dtype=float)
    grad0 = problem.grad(theta0)
    if np.linalg.norm(grad0) <= grad_tol:
        raise ValueError("theta0 already has a gradient norm <= grad_tol; pick a start further away")
    reference = theta0.copy()
    ref_run = fit(problem, SGD(reference, lr=lr), steps=max_steps, grad_tol=grad_tol,
                  record_trajectory=True)
    if ref_run.diverged:
        raise ValueError(f"lr = {lr!r} makes gradient descent diverge from theta0 (at step "
                         f"{ref_run.diverged_at}); pick a smaller lr")
    ref_steps, path = ref_run.steps_taken, ref_run.trajectory
    one_more = reference - lr * problem.grad(reference)  # where an extra update would land

    def run(budget):
        theta, steps = _quietly(loop, problem, theta0.copy(), lr, grad_tol, budget)
        return np.asarray(theta, dtype=float), steps

    try:
        theta1, _ = run(1)
        theta, steps = run(max_steps)
    except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
        return _verdict(False, f"your loop raised {type(exc).__name__}: {exc} "
                               "(it should return the pair (theta, steps))")
    if theta1.shape != theta0.shape or theta.shape != theta0.shape:
        shape = theta1.shape if theta1.shape != theta0.shape else theta.shape
        return _verdict(False, f"your theta has shape {shape}; the start has shape {theta0.shape}")
    if np.array_equal(theta1, theta0):
        return _verdict(False, "with max_steps = 1 your loop returned the start unchanged: "
                               "it should make one update, theta - lr * grad(theta)")
    reached = np.flatnonzero(np.all(np.isclose(path[2:], theta1, rtol=1e-10, atol=1e-12), axis=1))
    if reached.size:
        made = int(reached[0]) + 2
        return _verdict(False, f"with max_steps = 1 your loop made {made} updates: it must stop "
                               "after max_steps updates (count them, and test the count)")
    problem_with_update = _diagnose_update(theta0, theta1, grad0, lr)
    if problem_with_update:
        return _verdict(False, problem_with_update)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        return _verdict(False, f"your loop returned steps = {steps!r} ({type(steps).__name__}); "
                               "it should be the number of updates made, an integer")

    def at(point):
        return np.allclose(theta, point, rtol=1e-10, atol=1e-12)

    if at(path[-1]):
        if steps == ref_steps:
            return _verdict(True, f"your loop stops after {steps} steps at {np.round(theta, 6)}, "
                                  "exactly where gradient descent with the gradient-norm rule stops")
        return _verdict(False, f"your loop stops at the right point, after {ref_steps} updates, but "
                               f"returns steps = {steps}: count 1 per update, starting from 0")
    if at(one_more):
        return _verdict(False, f"your loop made one update too many ({ref_steps + 1} instead of "
                               f"{ref_steps}): after the {_ordinal(ref_steps)} update the gradient "
                               f"norm is already <= grad_tol = {grad_tol:g}, so test the rule "
                               "before each update, not after it")
    norm = _quietly(lambda: float(np.linalg.norm(problem.grad(theta))))
    if not np.isfinite(norm):
        return _verdict(False, f"your loop diverged: after {steps} steps theta is {theta} "
                               "and its gradient is not finite")
    if steps < ref_steps and norm > grad_tol:
        return _verdict(False, f"your loop stopped after {steps} steps while the gradient norm was "
                               f"still {norm:.3g} > grad_tol = {grad_tol:g}")
    if steps > ref_steps:
        return _verdict(False, f"your loop made {steps} steps, but the gradient norm is <= grad_tol "
                               f"= {grad_tol:g} already after {ref_steps}: test it after every update")
    return _verdict(False, f"your loop ended at {np.round(theta, 6)} after {steps} steps; "
                           f"gradient descent reaches {np.round(path[-1], 6)} after {ref_steps}: "
                           "check the update theta - lr * grad(theta)")


def _cubic(v):
    """The check's non-quadratic test function w**3, on which a central difference is not exact."""
    return v ** 3


def check_slope(slope_fn, loss_fn, w, h=1e-3, rtol=1e-6, atol=1e-9):
    """Check a learner's central difference: ``slope_fn(loss_fn, w, h)`` should return
    ``(J(w + h) - J(w - h)) / (2h)`` with ``J = loss_fn``, a function of one number.

    It is checked twice: on ``loss_fn`` at ``w`` with ``h``, then on the cubic ``w**3`` at
    w = 0.5 with a wide h = 0.25, where the central difference (0.8125) differs from the
    derivative (0.75). So a function that ignores its ``h`` or its ``J`` fails even when
    ``loss_fn`` is a parabola, on which every central difference is exact. A wrong answer
    is compared with the usual slips (a forward or backward difference, a flipped sign,
    dividing by h instead of 2h, writing ``/ 2 * h``) and the verdict names the one it
    matches. Choose ``w`` where ``loss_fn`` has a non-zero slope and curvature.
    """
    w, h = float(w), validate.positive("h", h)
    yours, wrong = _slope_verdict(slope_fn, loss_fn, w, h, rtol, atol)
    if wrong:
        return _verdict(False, wrong)
    on_cubic, wrong = _slope_verdict(slope_fn, _cubic, 0.5, 0.25, rtol, atol)
    if wrong:
        if on_cubic is not None and math.isclose(on_cubic, 0.75, rel_tol=1e-4):
            wrong = (f"your slope {on_cubic:.6g} is the exact derivative 0.75, but the central "
                     "difference with h = 0.25 is 0.8125: use the probes J(w - h) and J(w + h) "
                     "with the h you are given, not a fixed or tiny h of your own")
        return _verdict(False, "on the test function J(w) = w**3 at w = 0.5, h = 0.25: " + wrong)
    return _verdict(True, f"your slope {yours:.6g} matches the central difference at w = {w:g}, "
                          "and on the test cubic w**3 with h = 0.25")


def _slope_verdict(slope_fn, loss_fn, w, h, rtol, atol):
    """``(yours, None)`` when ``slope_fn(loss_fn, w, h)`` is the central difference, else
    ``(yours or None, what is wrong)``."""
    try:
        yours = slope_fn(loss_fn, w, h)
    except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
        return None, f"your slope function raised {type(exc).__name__}: {exc}"
    try:
        yours = float(yours)
    except (TypeError, ValueError):
        return None, f"your slope function returned {yours!r}; it should return one number"
    up, mid, down = float(loss_fn(w + h)), float(loss_fn(w)), float(loss_fn(w - h))
    central = (up - down) / (2 * h)
    if np.isclose(yours, central, rtol=rtol, atol=atol):
        return yours, None
    slips = [
        ((up - mid) / h, "that is the forward difference (J(w+h) - J(w)) / h, whose error shrinks "
                         "only like h; use both neighbours: (J(w+h) - J(w-h)) / (2h)"),
        ((mid - down) / h, "that is the backward difference (J(w) - J(w-h)) / h, whose error shrinks "
                           "only like h; use both neighbours: (J(w+h) - J(w-h)) / (2h)"),
        (-central, "the sign is flipped: subtract J(w-h) from J(w+h), not the other way round"),
        (2 * central, "that is twice the slope: the two probes are 2h apart, so divide by 2h, not h"),
        ((up - down) / 2 * h, "Python reads '/ 2 * h' as '(... / 2) * h', which multiplies by h: "
                              "write '/ (2 * h)'"),
    ]
    for value, hint in slips:
        if np.isclose(yours, value, rtol=rtol, atol=atol):
            return yours, f"your slope {yours:.6g} is not the central difference {central:.6g}: {hint}"
    return yours, (f"your slope {yours:.6g} differs from the central difference "
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


def check_momentum(momentum_fn, lr=0.05, beta=0.8, steps=30):
    """Compare a learner's heavy ball ``momentum_fn(grad, theta0, lr, beta, steps)`` with
    :class:`gdcore.Momentum` (v <- beta v + g; theta <- theta - lr v, v starting at 0).

    ``grad`` is a function of theta; the learner returns the ``steps + 1`` iterates
    theta_0 .. theta_steps as an array of shape (steps + 1, 2). The test problem is
    ``Quadratic.with_condition(10)`` from (1.5, -1.0). A wrong answer is compared with
    the usual slips (the damped form, Nesterov, a velocity that is not kept, updating
    theta with the old velocity) and the verdict names the one it matches.
    """
    from .optim import Momentum, Nesterov
    from .problems import Quadratic

    lr, beta = validate.positive("lr", lr), validate.unit_interval("beta", beta)
    steps = validate.positive_int("steps", steps)
    problem, theta0 = Quadratic.with_condition(10), np.array([1.5, -1.0])

    def reference(make):
        theta = theta0.copy()
        optimizer, path = make(theta), [theta0.copy()]
        for _ in range(steps):
            optimizer.step(problem.grad(theta))
            path.append(theta.copy())
        return np.array(path)

    try:
        yours = np.asarray(momentum_fn(problem.grad, theta0.copy(), lr, beta, steps), dtype=float)
    except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
        return _verdict(False, f"your function raised {type(exc).__name__}: {exc}")
    expected = reference(lambda th: Momentum(th, lr=lr, beta=beta))
    if yours.shape != expected.shape:
        return _verdict(False, f"your function returned shape {yours.shape}; expected "
                               f"{expected.shape}: theta_0 .. theta_{steps}, one row per iterate")
    if np.allclose(yours, expected, rtol=1e-9, atol=1e-12):
        return _verdict(True, f"your iterates match gdcore's Momentum at all {steps} steps")
    slips = [
        (reference(lambda th: Momentum(th, lr=lr * (1 - beta), beta=beta)),
         "this is the damped form v <- beta v + (1 - beta) g; here v <- beta v + g"),
        (reference(lambda th: Nesterov(th, lr=lr, beta=beta)),
         "this is Nesterov's step theta - lr (g + beta v); the heavy ball steps by lr v"),
        (reference(lambda th: SGD(th, lr=lr)),
         "this is plain gradient descent: keep v from one step to the next and start it at 0 "
         "once, before the loop"),
    ]
    for path, message in slips:
        if np.allclose(yours, path, rtol=1e-9, atol=1e-12):
            return _verdict(False, message)
    if np.allclose(yours[1], theta0):
        return _verdict(False, "your first step did not move: update v with the new gradient "
                               "before you update theta")
    t = int(np.argmax(~np.isclose(yours, expected, rtol=1e-9, atol=1e-12).all(axis=1)))
    return _verdict(False, f"your iterates first differ at step {t}: yours {np.round(yours[t], 6)}, "
                           f"expected {np.round(expected[t], 6)}")
def _adam_variant(theta, grads, lr, beta1, beta2, eps, correct_m=True, correct_v=True,
                  eps_inside=False, swap_betas=False, sign=1.0):
    """Adam's iterates from ``theta`` for the gradient sequence ``grads``, optionally with
    one of the slips learners make; used only to name a learner's mistake."""
    b1, b2 = (beta2, beta1) if swap_betas else (beta1, beta2)
    m, v, path = np.zeros_like(theta), np.zeros_like(theta), []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t) if correct_m else m
        v_hat = v / (1 - b2 ** t) if correct_v else v
        denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
        theta = theta - sign * lr * m_hat / denom
        path.append(theta)
    return np.array(path)


def check_adam_step(step_fn, steps=5, lr=0.01, betas=(0.9, 0.999), eps=1e-8, seed=0):
    """Check one Adam step written by a learner against :class:`gdcore.Adam`.

    ``step_fn(theta, grad, m, v, t, lr, beta1, beta2, eps)`` must return the new
    ``(theta, m, v)``, with ``t = 1, 2, ...`` the step number. It is run for
    ``steps`` steps on random gradients twice: of ordinary size, and tiny (about
    ``eps``), where the place of ``eps`` matters. A wrong answer is compared with the
    usual slips (no bias correction, one average left uncorrected, ``eps`` inside
    the square root, the betas swapped, a flipped sign) and the verdict names the
    one it matches.
    """
    from .optim import Adam   # imported here: the checks above need only SGD

    steps = validate.positive_int("steps", steps)
    lr = validate.positive("lr", lr)
    beta1, beta2 = (validate.unit_interval("betas[0]", betas[0]),
                    validate.unit_interval("betas[1]", betas[1]))
    eps = validate.positive("eps", eps)
    rng = np.random.default_rng(seed)
    theta0 = rng.standard_normal(3)
    slips = [
        ({"correct_m": False, "correct_v": False},
         "there is no bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t before the step"),
        ({"correct_v": False}, "v is not bias-corrected: use v_hat = v / (1 - beta2**t)"),
        ({"correct_m": False}, "m is not bias-corrected: use m_hat = m / (1 - beta1**t)"),
        ({"eps_inside": True}, "eps is inside the square root; here (and in torch) it is added "
                               "outside: sqrt(v_hat) + eps"),
        ({"swap_betas": True}, "beta1 and beta2 are swapped: m averages with beta1 (0.9), "
                               "v with beta2 (0.999)"),
        ({"sign": -1.0}, "the sign is flipped: subtract the step, theta - lr * m_hat / (...)"),
    ]
    for scale, regime in ((1.0, "gradients of size about 1"), (eps, f"tiny gradients (about {eps:g})")):
        grads = [scale * rng.standard_normal(3) for _ in range(steps)]
        reference = theta0.copy()
        adam = Adam(reference, lr=lr, betas=(beta1, beta2), eps=eps)
        expected = []
        for g in grads:
            adam.step(g.copy())
            expected.append(reference.copy())
        theta, m, v, yours = theta0.copy(), np.zeros(3), np.zeros(3), []
        try:
            with np.errstate(all="ignore"):   # a slip may divide by zero: the verdict says so
                for t, g in enumerate(grads, start=1):
                    theta, m, v = (np.asarray(a, dtype=float) for a in
                                   step_fn(theta.copy(), g.copy(), m.copy(), v.copy(), t, lr,
                                           beta1, beta2, eps))
                    yours.append(theta)
        except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
            return _verdict(False, f"your step raised {type(exc).__name__}: {exc} "
                                   "(it should return the tuple (theta, m, v))")
        if any(y.shape != (3,) for y in yours):
            return _verdict(False, "your step returned theta with another shape than the theta it got")
        yours, expected = np.array(yours), np.array(expected)
        if not np.isfinite(yours).all():
            t = int(np.argmax(~np.isfinite(yours).all(axis=1))) + 1
            return _verdict(False, f"your theta is not finite after step {t}: count t from 1, "
                                   "so that 1 - beta**t is never 0")
        wrong = ~np.isclose(yours, expected, rtol=1e-9, atol=1e-12).all(axis=1)
        if wrong.any():
            t = int(np.argmax(wrong)) + 1
            for options, hint in slips:
                variant = _adam_variant(theta0, grads, lr, beta1, beta2, eps, **options)
                if np.allclose(yours, variant, rtol=1e-9, atol=1e-12):
                    return _verdict(False, f"with {regime} your theta first differs at step {t}: {hint}")
            return _verdict(False, f"with {regime} your theta first differs from gdcore.Adam at "
                                   f"step {t}: yours {np.round(yours[t - 1], 6)}, expected "
                                   f"{np.round(expected[t - 1], 6)}")
    return _verdict(True, f"your step matches gdcore.Adam for {steps} steps, with ordinary and "
                          "with tiny gradients")


def check_soft_threshold(soft_threshold_fn, threshold=0.5):
    """Check ``soft_threshold_fn(v, threshold)`` against soft thresholding,
    ``sign(v) * max(|v| - threshold, 0)`` entry by entry, on values inside, at and outside
    ``[-threshold, threshold]``. A wrong answer names the slip: entries inside that are not
    exactly 0, large entries left unshrunk (hard thresholding), or entries pushed past zero.
    """
    threshold = validate.positive("threshold", threshold)
    v = threshold * np.array([-3.0, -1.5, -1.0, -0.6, -0.2, 0.0, 0.3, 0.9, 1.0, 1.2, 2.5])
    expected = np.sign(v) * np.maximum(np.abs(v) - threshold, 0.0)
    try:
        yours = np.asarray(soft_threshold_fn(v.copy(), threshold), dtype=float)
    except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
        return _verdict(False, f"your function raised {type(exc).__name__}: {exc}")
    if yours.shape != v.shape:
        return _verdict(False, f"your result has shape {yours.shape}; expected {v.shape}, one "
                               "entry per entry of v")
    if np.allclose(yours, expected, rtol=1e-12, atol=1e-12) and np.all(yours[expected == 0] == 0):
        return _verdict(True, f"your soft thresholding matches sign(v) max(|v| - t, 0) on "
                              f"{v.size} values, with exact zeros inside [-t, t]")
    inside = np.abs(v) <= threshold
    if np.any(yours[inside] != 0):
        i = int(np.argmax(inside & (yours != 0)))
        return _verdict(False, f"v = {v[i]:.3g} lies inside [-t, t] with t = {threshold:g}, so the "
                               f"answer is exactly 0; yours is {yours[i]:.3g}")
    if np.allclose(yours, np.where(inside, 0.0, v)):
        return _verdict(False, "you set small entries to 0 but left the others unchanged (hard "
                               "thresholding): subtract t from the size of every entry outside [-t, t]")
    if np.any(np.sign(yours) * np.sign(v) < 0):
        return _verdict(False, "an entry changed sign: soft thresholding moves each entry towards "
                               "0 by t and stops at 0, it never crosses it")
    i = int(np.argmax(~np.isclose(yours, expected)))
    return _verdict(False, f"at v = {v[i]:.3g} (t = {threshold:g}) yours is {yours[i]:.6g}, "
                           f"expected {expected[i]:.6g}")


def check_ridge(ridge_fn, n=12, d=4, strength=0.3, seed=0):
    r"""Check ``ridge_fn(X, y, strength)`` against the minimiser
    :math:`(X^\top X + n\lambda I)^{-1}X^\top y` of
    :math:`\lVert X\theta - y\rVert^2/(2n) + \tfrac{\lambda}{2}\lVert\theta\rVert^2`
    (gdcore's convention; ``X`` already holds every column to fit, none is added) on random
    data. A wrong answer is compared with the usual slips: :math:`\lambda` without the
    factor :math:`n`, a missing penalty, and a sign error.
    """
    strength = validate.positive("strength", strength)
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)

    def solve(shift):
        return np.linalg.solve(X.T @ X + shift * np.eye(d), X.T @ y)

    try:
        yours = np.asarray(ridge_fn(X.copy(), y.copy(), strength), dtype=float)
    except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
        return _verdict(False, f"your function raised {type(exc).__name__}: {exc}")
    if yours.shape != (d,):
        return _verdict(False, f"your result has shape {yours.shape}; theta has shape ({d},)")
    if np.allclose(yours, solve(n * strength)):
        return _verdict(True, f"your ridge solution matches (X^T X + n λ I)^-1 X^T y "
                              f"(n = {n}, d = {d}, λ = {strength:g})")
    slips = [(solve(strength), "you added λ I; with J = ||Xθ - y||²/(2n) + λ/2 ||θ||² the "
                               "normal equations read (X^T X / n + λ I) θ = X^T y / n, so add n λ I "
                               "to X^T X"),
             (solve(0.0), "this is plain least squares: the penalty's n λ I is missing"),
             (solve(-n * strength), "the penalty enters with the wrong sign: add n λ I, "
                                    "it makes the matrix larger")]
    for expected, message in slips:
        if np.allclose(yours, expected):
            return _verdict(False, message)
    return _verdict(False, "your result is not the ridge solution: solve "
                           "(X^T X + n λ I) θ = X^T y (np.linalg.solve)")


def check_logsumexp(logsumexp_fn):
    """Check ``logsumexp_fn(z)``, the log of the sum of exponentials along the last axis of a
    2-D array ``z``, on ordinary logits and on logits of +-1000, where the direct formula
    overflows. The verdict says which rows fail and how (inf, nan, or a wrong value)."""
    rows = np.array([[0.5, -1.0, 2.0], [3.0, 3.0, 3.0], [1000.0, 0.0, -1000.0],
                     [-1000.0, -1000.0, -1001.0]])
    expected = logsumexp_rows(rows)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            yours = np.asarray(logsumexp_fn(rows.copy()), dtype=float)
    except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
        return _verdict(False, f"your function raised {type(exc).__name__}: {exc}")
    if yours.shape != (len(rows),):
        return _verdict(False, f"your result has shape {yours.shape}; expected ({len(rows)},), "
                               "one value per row (reduce along the last axis)")
    for i, (mine, ref) in enumerate(zip(yours, expected)):
        if not np.isfinite(mine):
            return _verdict(False, f"row {rows[i].tolist()} gives {mine}: exp overflowed or "
                                   "underflowed; subtract the row's largest logit before exp "
                                   "and add it back after log")
        if not np.isclose(mine, ref, rtol=1e-12, atol=1e-12):
            return _verdict(False, f"row {rows[i].tolist()} gives {mine:.6g}, expected {ref:.6g}")
    return _verdict(True, "your log-sum-exp is right on ordinary logits and stays finite "
                          "and exact at ±1000")


def check_accumulated_gradient(accumulate, micro_batches=4, seed=0):
    """Check ``accumulate(model, x, y, micro_batches)``, a learner's gradient accumulation:
    afterwards every parameter's ``.grad`` must hold the gradient of the mean
    cross-entropy over all rows, as one big batch gives (:func:`gdcore.nn.batch_gradient`).

    The test batch of 30 rows does not split evenly, so unweighted micro-batch means
    are caught too. A wrong answer is compared with the usual slips and named.
    """
    import torch

    from .nn import batch_gradient, flat_gradient, mlp
    micro_batches = validate.positive_int("micro_batches", micro_batches)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(30, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (30,), generator=g)
    model = mlp([3, 8, 4], seed=seed, dtype=torch.float64)
    reference = batch_gradient(model, x, y)
    model.zero_grad()
    try:
        accumulate(model, x, y, micro_batches)
    except Exception as exc:  # the learner's code failed: say how, do not crash the notebook
        return _verdict(False, f"your function raised {type(exc).__name__}: {exc}")
    if any(p.grad is None for p in model.parameters()):
        return _verdict(False, "after your function some parameters have no .grad: call "
                               "backward() on each micro-batch's loss")
    yours = flat_gradient(model)
    if torch.allclose(yours, reference, rtol=1e-10, atol=1e-12):
        return _verdict(True, f"{micro_batches} micro-batches give the gradient of the whole "
                              "batch of 30 rows")
    pieces = list(zip(x.tensor_split(micro_batches), y.tensor_split(micro_batches)))
    last = batch_gradient(model, *pieces[-1])
    summed = sum(batch_gradient(model, xb, yb) for xb, yb in pieces)
    unweighted = summed / micro_batches
    model.zero_grad()
    slips = [
        (summed, f"it is about {micro_batches} times too large, the sum of the micro-batch "
                 "gradients: each micro-batch loss is a mean over its rows; weight it by its "
                 "share len(xb) / len(x) before backward"),
        (last, "it is the last micro-batch's gradient alone: zero the gradients once before "
               "the loop, not inside it, so that backward() adds them up"),
        (unweighted, "it averages the micro-batch means with equal weights, but the micro-"
                     "batches differ in size (30 rows do not split evenly): weight each "
                     "by len(xb) / len(x)"),
    ]
    for expected, message in slips:
        if torch.allclose(yours, expected, rtol=1e-10, atol=1e-12):
            return _verdict(False, message)
    i = int((yours - reference).abs().argmax())
    return _verdict(False, f"your gradient differs from the whole batch's at entry {i}: yours "
                           f"{float(yours[i]):.6g}, expected {float(reference[i]):.6g}")


def _average_check_worker(rank, world_size, average, seed):
    """One worker of :func:`check_gradient_average`: its share's gradient, averaged by ``average``."""
    import torch

    from .nn import batch_gradient, flat_gradient, mlp
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(12 * world_size, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (12 * world_size,), generator=g)
    model = mlp([3, 8, 4], seed=seed, dtype=torch.float64)
    whole = batch_gradient(model, x, y).numpy()
    own = batch_gradient(model, x[rank::world_size], y[rank::world_size]).numpy()
    try:
        average(model)
    except Exception as exc:  # the learner's code failed: report it, do not hang the others
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"whole": whole, "own": own, "yours": flat_gradient(model).numpy()}


def check_gradient_average(average, world_size=3, seed=0):
    """Check ``average(model)``, a learner's gradient averaging: run it in ``world_size``
    gloo processes (:func:`gdcore.distributed.launch`) after each computed its share's
    gradient; every worker's ``.grad`` must then be the gradient of the whole batch."""
    import numpy as np

    from .distributed import launch
    try:
        results = launch(_average_check_worker, world_size, average, seed, timeout=60)
    except RuntimeError as exc:
        return _verdict(False, f"the workers failed: {str(exc).splitlines()[0]}")
    for rank, r in enumerate(results):
        if "error" in r:
            return _verdict(False, f"your function raised {r['error']} on worker {rank}")
    k = world_size
    for rank, r in enumerate(results):
        if np.allclose(r["yours"], r["whole"], rtol=1e-10, atol=1e-12):
            continue
        if np.allclose(r["yours"], k * r["whole"], rtol=1e-10, atol=1e-12):
            return _verdict(False, f"the gradients are {k} times too large: all_reduce sums; "
                                   "divide by dist.get_world_size()")
        if np.allclose(r["yours"], r["own"], rtol=1e-10, atol=1e-12):
            return _verdict(False, f"worker {rank} still has its own gradient: the all-reduce "
                                   "did not change .grad (reduce the tensor in place)")
        return _verdict(False, f"worker {rank}'s gradient is not the mean over the workers")
    return _verdict(True, f"all {k} workers hold the gradient of the whole batch")
def _is_real_number(value):
    """A Python or NumPy real number, or a 0-d array of one; not bool, not a sized array."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and np.issubdtype(value.dtype, np.number) and \
            not np.issubdtype(value.dtype, np.complexfloating)
    return isinstance(value, numbers.Real)
