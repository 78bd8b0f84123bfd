"""Figures the chapters share: contour maps with paths, loss curves, animations.

Every function draws on a given matplotlib ``ax`` (or a new one) and returns
the axes or the animation; none of them calls ``plt.show``.
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation

from .backend import to_numpy


def loss_grid(problem, xlim, ylim, resolution=120):
    """``X, Y, Z`` with Z the problem's full-data loss over a grid of 2-D parameters."""
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    X, Y = np.meshgrid(xs, ys)
    Z = np.array([[float(problem.loss(np.array([x, y]))) for x in xs] for y in ys])
    return X, Y, Z


def contour_paths(problem, paths=None, xlim=(-2, 2), ylim=(-2, 2), ax=None, levels=30,
                  log_levels=True, labels=None, resolution=120):
    """Contours of a 2-parameter loss with optimisation paths drawn over them.

    ``paths`` is a list of arrays of shape (steps, 2) (for example
    ``History.trajectory``); ``labels`` names them in a legend. Returns the axes.
    """
    ax = ax or plt.subplots(figsize=(5.5, 4.5))[1]
    X, Y, Z = loss_grid(problem, xlim, ylim, resolution)
    if log_levels:
        low, high = max(Z.min(), 1e-12), Z.max()
        levels = np.geomspace(low + (high - low) * 1e-4, high, levels)
    ax.contour(X, Y, Z, levels=levels, cmap="viridis", linewidths=0.8)
    for i, path in enumerate(paths or []):
        path = to_numpy(path)
        label = labels[i] if labels else None
        line, = ax.plot(path[:, 0], path[:, 1], ".-", lw=1.2, ms=3, label=label)
        ax.plot(*path[0], "o", color=line.get_color(), ms=6)
        ax.plot(*path[-1], "*", color=line.get_color(), ms=10)
    if labels:
        ax.legend(loc="best", fontsize=8)
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    return ax


def loss_curves(histories, x="step", ax=None, log=True, batch=False):
    """Full-data loss of several runs against ``x`` (``"step"``, ``"epoch"``, ``"samples"`` or ``"time"``).

    ``histories`` maps a label to a :class:`gdcore.train.History`. With
    ``batch=True`` the per-step batch losses are drawn too, faintly, against
    the step count. Returns the axes.
    """
    names = {"step": "parameter updates", "epoch": "epochs",
             "samples": "per-sample gradient evaluations", "time": "wall time (s)"}
    if x not in names:
        raise ValueError(f"x must be one of {', '.join(map(repr, names))}, got {x!r}")
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for label, history in histories.items():
        line, = ax.plot(getattr(history, x), history.loss, label=label)
        if batch:
            ax.plot(np.arange(len(history.batch_loss)), history.batch_loss,
                    color=line.get_color(), alpha=0.3, lw=0.8)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(names[x])
    ax.set_ylabel("loss on all training data")
    ax.legend()
    return ax


def animate_paths(problem, paths, xlim=(-2, 2), ylim=(-2, 2), labels=None, frames=40,
                  interval=120, figsize=(5, 4)):
    """A matplotlib animation of paths moving over the loss contours.

    Render it for the static book with ``IPython.display.HTML(anim.to_jshtml())``.
    The figure is closed so that only the animation is shown.
    """
    paths = [to_numpy(p) for p in paths]
    fig, ax = plt.subplots(figsize=figsize)
    contour_paths(problem, None, xlim, ylim, ax=ax)
    lines = [ax.plot([], [], ".-", lw=1.2, ms=3, label=labels[i] if labels else None)[0]
             for i in range(len(paths))]
    if labels:
        ax.legend(loc="upper right", fontsize=8)
    longest = max(len(p) for p in paths)
    cuts = np.unique(np.linspace(1, longest, frames).astype(int))

    def draw(k):
        for line, path in zip(lines, paths):
            line.set_data(path[:cuts[k], 0], path[:cuts[k], 1])
        ax.set_title(f"step {cuts[k] - 1}")
        return lines

    anim = animation.FuncAnimation(fig, draw, frames=len(cuts), interval=interval, blit=False)
    plt.close(fig)
    return anim
