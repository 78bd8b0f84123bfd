"""A fair race of optimisers: every learning rate tuned on one grid for one step budget.

:func:`race` runs :func:`gdcore.train.fit` for every optimiser, every learning
rate of a grid and every setup (a problem and a start, one per seed), all with
the same step budget. For each optimiser it keeps the rate whose *median*
final excess loss :math:`J(\\theta_T) - J^*` over the setups is lowest; a run
that diverged counts as :math:`+\\infty`, and medians below ``floor`` count as
equal (ties go to the smaller rate), so that the choice never rests on
rounding noise. The figures below draw what it returns.
"""
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from . import validate
from .plots import contour_paths
from .train import fit


@dataclass
class RaceResult:
    """What :func:`race` measured.

    ``scores[name][k]`` is the median final excess loss of optimiser ``name``
    at ``lrs[k]`` (``inf`` when most runs diverged); ``best_lr[name]`` the rate
    chosen; ``histories[name]`` the runs at that rate, one per setup;
    ``optimum`` the :math:`J^*` subtracted; ``floor`` the resolution below which
    excess losses are not told apart.
    """

    lrs: np.ndarray
    scores: dict
    best_lr: dict
    histories: dict
    optimum: float
    floor: float

    def final(self, name):
        """Final excess losses at the chosen rate, one per setup (``inf`` for a diverged run)."""
        return np.array([_excess(h, self.optimum) for h in self.histories[name]])

    def at_edge(self, name):
        """True when the chosen rate is the smallest or largest of the grid (widen the grid)."""
        return self.best_lr[name] in (self.lrs[0], self.lrs[-1])

    def format(self, value):
        """An excess loss to two significant digits, ``"<floor"`` below the floor,
        ``"diverged"`` for ``inf``: digits that rounding noise cannot change."""
        if not np.isfinite(value):
            return "diverged"
        return f"<{self.floor:.0e}" if value < self.floor else f"{value:.2g}"

    def table(self):
        """One line per optimiser: tuned rate (``*`` at the grid's edge), median final excess
        loss, its range over the setups, and how many runs diverged."""
        lines = [f"{'optimiser':10s} {'tuned lr':>9s}  {'median':>8s}  {'range over seeds':>20s}"
                 f"  diverged"]
        for name in self.histories:
            final = self.final(name)
            edge = "*" if self.at_edge(name) else " "
            spread = f"{self.format(final.min())} .. {self.format(final.max())}"
            lines.append(f"{name:10s} {self.best_lr[name]:9.2g}{edge} "
                         f"{self.format(np.median(final)):>8s}  {spread:>20s}"
                         f"  {int(np.isinf(final).sum())}/{len(final)}")
        return "\n".join(lines)


def _excess(history, optimum):
    return np.inf if history.diverged else history.final_loss - optimum


def race(setups, optimizers, lrs, steps, optimum=0.0, floor=1e-12, **fit_options):
    """Tune and race ``optimizers`` on ``setups`` with the same budget of ``steps`` updates.

    ``setups`` is a list of ``(problem, theta0)`` pairs (one per seed: the seed
    perturbs the start or the data); ``optimizers`` maps a name to
    ``make(theta, lr)`` (``gd.SGD`` itself works); ``lrs`` is the grid of
    learning rates (use ``np.geomspace``); ``optimum`` is :math:`J^*`, subtracted
    from every loss (0 when unknown: the losses themselves are then compared).
    ``fit_options`` (``batch_size``, ``seed``, ``eval_every``...) go to
    :func:`gdcore.train.fit`, which records trajectories. Returns a
    :class:`RaceResult`.
    """
    setups = list(setups)
    if not setups:
        raise ValueError("setups is empty: give at least one (problem, theta0) pair")
    for i, (problem, theta0) in enumerate(setups):
        validate.numpy_float_array(f"setups[{i}] theta0", theta0)
        if tuple(theta0.shape) != tuple(problem.shape):
            raise ValueError(f"setups[{i}]: theta0 has shape {theta0.shape}, but the problem "
                             f"expects {tuple(problem.shape)}")
    if not isinstance(optimizers, dict) or not optimizers:
        raise ValueError("optimizers must be a non-empty dict mapping a name to make(theta, lr)")
    lrs = np.asarray(lrs, dtype=float)
    if lrs.ndim != 1 or lrs.size == 0:
        raise ValueError(f"lrs must be a non-empty 1-D grid of learning rates, got shape {lrs.shape}")
    for k, lr in enumerate(lrs):
        validate.positive(f"lrs[{k}]", float(lr))
    steps = validate.positive_int("steps", steps)
    optimum = validate.finite("optimum", optimum)
    floor = validate.positive("floor", floor)

    scores, best_lr, histories = {}, {}, {}
    for name, make in optimizers.items():
        runs_by_lr = []
        for lr in lrs:
            runs = [fit(problem, make(np.array(theta0, dtype=float), float(lr)), steps=steps,
                        record_trajectory=True, **fit_options) for problem, theta0 in setups]
            runs_by_lr.append(runs)
        medians = np.array([np.median([_excess(h, optimum) for h in runs]) for runs in runs_by_lr])
        best = int(np.argmin(np.maximum(medians, floor)))   # first (smallest) lr among ties
        scores[name], best_lr[name], histories[name] = medians, float(lrs[best]), runs_by_lr[best]
    return RaceResult(lrs, scores, best_lr, histories, optimum, floor)


def _styles(result):
    return {name: {"color": f"C{i}"} for i, name in enumerate(result.histories)}


def race_paths(problem, result, setup=0, xlim=(-2, 2), ylim=(-2, 2), ax=None, minimum=None):
    """Every optimiser's path from setup ``setup`` at its tuned rate, on the loss contours;
    ``minimum`` (a point or an array of points) is marked with black crosses. Returns the axes."""
    ax = ax or plt.subplots(figsize=(5.5, 4.5))[1]
    contour_paths(problem, None, xlim, ylim, ax=ax)
    for name, style in _styles(result).items():
        path = result.histories[name][setup].trajectory
        ax.plot(path[:, 0], path[:, 1], ".-", lw=1, ms=2, label=name, **style)
        ax.plot(*path[-1], "*", ms=9, **style)
    start = next(iter(result.histories.values()))[setup].trajectory[0]   # the same for all
    ax.plot(*start, "ko", ms=5)
    if minimum is not None:
        points = np.atleast_2d(minimum)
        ax.plot(points[:, 0], points[:, 1], "kx", ms=9, mew=2)
    ax.legend(fontsize=7, loc="best")
    return ax


def race_curves(result, ax=None):
    """Median excess loss against the step for every optimiser at its tuned rate, with the
    range over the setups shaded, on a log axis clipped at ``result.floor``. Returns the axes."""
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for name, style in _styles(result).items():
        runs = result.histories[name]
        longest = max(runs, key=lambda h: len(h.step)).step
        curves = np.full((len(runs), len(longest)), np.inf)
        for i, h in enumerate(runs):
            curves[i, :len(h.loss)] = h.loss - result.optimum
        curves = np.maximum(curves, result.floor)
        shown = [np.where(np.isfinite(c), c, np.nan)   # a diverged run leaves a gap
                 for c in (np.median(curves, axis=0), curves.min(axis=0), curves.max(axis=0))]
        ax.plot(longest, shown[0], label=f"{name} (lr {result.best_lr[name]:.2g})", **style)
        ax.fill_between(longest, shown[1], shown[2], alpha=0.15, **style)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("excess loss $J - J^*$" if result.optimum else "loss")
    ax.legend(fontsize=7)
    return ax


def tuning_curves(result, ax=None):
    """Median final excess loss against the learning rate, one line per optimiser, with the
    tuned rate circled; a rate where most runs diverged leaves a gap. Returns the axes."""
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for name, style in _styles(result).items():
        scores = np.maximum(result.scores[name], result.floor)
        ax.plot(result.lrs, np.where(np.isfinite(scores), scores, np.nan), ".-", label=name, **style)
        best = scores[np.flatnonzero(result.lrs == result.best_lr[name])[0]]
        ax.plot(result.best_lr[name], best, "o", mfc="none", ms=10, **style)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("median final excess loss" if result.optimum else "median final loss")
    ax.legend(fontsize=7)
    return ax
