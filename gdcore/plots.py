"""Figures the chapters share: contour maps with paths, loss curves, animations.

Every function draws on a given matplotlib ``ax`` (or a new one) and returns
the axes or the animation; none of them calls ``plt.show``.
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation
from matplotlib.colors import ListedColormap

from . import validate
from .backend import to_numpy


def loss_grid(problem, xlim, ylim, resolution=120):
    """``X, Y, Z`` with Z the problem's full-data loss over a grid of 2-D parameters."""
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    X, Y = np.meshgrid(xs, ys)
    Z = np.array([[float(problem.loss(np.array([x, y]))) for x in xs] for y in ys])
    return X, Y, Z


def contour_paths(problem, paths=None, xlim=(-2, 2), ylim=(-2, 2), ax=None, levels=20,
                  log_levels=True, labels=None, resolution=120):
    """Contours of a 2-parameter loss with optimisation paths drawn over them.

    ``paths`` is an array of shape (steps, 2) (for example
    ``History.trajectory``) or a list of them; ``labels`` names them in a legend.
    With ``log_levels`` the ``levels`` contour heights above the lowest loss on
    the grid, ``Z.min()``, grow geometrically from 1/1000 of the loss range (any sign
    of loss). Returns the axes.
    """
    ax = ax or plt.subplots(figsize=(5.5, 4.5))[1]
    X, Y, Z = loss_grid(problem, xlim, ylim, resolution)
    if log_levels:
        span = Z.max() - Z.min()
        levels = Z.min() + np.geomspace(span * 1e-3, span, levels)
    ax.contour(X, Y, Z, levels=levels, cmap="viridis", linewidths=0.8)
    if paths is None:
        paths = []
    elif getattr(paths, "ndim", None) == 2:  # one path
        paths = [paths]
    for i, path in enumerate(paths):
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


def loss_curves(histories, x="step", ax=None, log=True, batch=False, batch_label=None):
    """Full-data loss of several runs against ``x`` (``"step"``, ``"epoch"``, ``"samples"`` or ``"time"``).

    ``histories`` maps a label to a :class:`gdcore.train.History`. With
    ``batch=True`` each run's batch losses are drawn too, faintly, in the run's
    colour: the batch loss of step ``t`` at the ``x`` of step ``t``, read off
    the recorded evaluations by linear interpolation (exact when every step is
    recorded, ``eval_every=1``). ``batch_label`` names those lines in the
    legend (``None``: left out). Returns the axes.
    """
    names = {"step": "parameter updates", "epoch": "epochs",
             "samples": "per-sample gradient evaluations", "time": "wall time (s)"}
    if x not in names:
        raise ValueError(f"x must be one of {', '.join(map(repr, names))}, got {x!r}")
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for label, history in histories.items():
        line, = ax.plot(getattr(history, x), history.loss, label=label)
        if batch:
            t = np.arange(history.steps_taken)
            at = t if x == "step" else np.interp(t, history.step, getattr(history, x))
            ax.plot(at, history.batch_loss, color=line.get_color(), alpha=0.3, lw=0.8,
                    label=batch_label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(names[x])
    ax.set_ylabel("loss on all training data")
    ax.legend()
    return ax


def animate_paths(problem, paths, xlim=(-2, 2), ylim=(-2, 2), labels=None, frames=40,
                  interval=120, figsize=(5, 4), xlabel=None, ylabel=None, minimum=None,
                  legend_fontsize=8, styles=None):
    """A matplotlib animation of paths moving over the loss contours.

    Render it for the static book with ``gd.plots.animation_html(anim)``. The axes are
    labelled ``xlabel``/``ylabel`` (default θ₁, θ₂); ``minimum`` (a point) is marked with
    a black x labelled "minimum". ``styles`` holds one dict of ``ax.plot`` keyword
    arguments per path (``color``, ``ls``, ``lw``, ``marker``, ...) that override the
    default solid line with small dots; ``None`` keeps the default for that path.
    The figure is closed so that only the animation is shown.
    """
    paths = [to_numpy(p) for p in paths]
    styles = [None] * len(paths) if styles is None else list(styles)
    if len(styles) != len(paths):
        raise ValueError(f"styles has {len(styles)} entries, but there are {len(paths)} paths")
    fig, ax = plt.subplots(figsize=figsize)
    contour_paths(problem, None, xlim, ylim, ax=ax)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    lines = [ax.plot([], [], **{"ls": "-", "marker": ".", "lw": 1.2, "ms": 3, **(styles[i] or {})},
                     label=labels[i] if labels else None)[0]
             for i in range(len(paths))]
    if minimum is not None:
        ax.plot(*to_numpy(minimum), "kx", ms=9, mew=2, label="minimum")
    if labels or minimum is not None:
        ax.legend(loc="upper right", fontsize=legend_fontsize)
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


def _tangent_xy(w, value, slope, half_width):
    xs = np.array([w - half_width, w + half_width])
    return xs, value + slope * (xs - w)


def draw_tangent(ax, w, value, slope, half_width=0.3, **style):
    """The tangent of a 1-D curve at ``(w, value)`` with the given ``slope``, drawn from
    ``w - half_width`` to ``w + half_width`` (dashed, colour C3, unless ``style`` says otherwise).
    Returns the line."""
    style = {"color": "C3", "ls": "--", "lw": 1.2, **style}
    return ax.plot(*_tangent_xy(w, value, slope, half_width), **style)[0]


def animate_1d(loss, points, xlim, slope=None, titles=None, frames=40, interval=500,
               figsize=(5, 4), xlabel="w", ylabel="loss J(w)", resolution=200):
    """A point moving along the curve of ``loss`` (a function of one float) through ``points``.

    Earlier points stay as a faint trail; with ``slope`` (a function of one float)
    the tangent is drawn at the current point. A legend names the curve, the
    points and the tangent. ``titles`` holds one title per point. At most
    ``frames`` frames, spread evenly over the points (first and last always
    shown). Render it with ``gd.plots.animation_html(anim)``; the figure is closed so that
    only the animation is shown.
    """
    points = np.asarray(points, dtype=float).ravel()
    if points.size == 0:
        raise ValueError("points is empty: give at least one position")
    if titles is not None and len(titles) != len(points):
        raise ValueError(f"titles has {len(titles)} entries, but points has {len(points)}")
    frames = validate.positive_int("frames", frames)
    xs = np.linspace(*xlim, resolution)
    fig, ax = plt.subplots(figsize=figsize)
    ax.plot(xs, [float(loss(x)) for x in xs], color="C0", label="loss")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ax.get_ylim())  # freeze the limits: tangents must not rescale the axes
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    trail, = ax.plot([], [], "o", color="C1", alpha=0.35, ms=5, label="earlier points")
    current, = ax.plot([], [], "o", color="C1", ms=8, label="current point")
    tangent, = ax.plot([], [], color="C3", ls="--", lw=1.2,
                       label="tangent (slope)" if slope is not None else None)
    ax.legend(loc="upper center", fontsize=8)
    values = np.array([float(loss(p)) for p in points])
    shown = np.unique(np.linspace(0, len(points) - 1, min(frames, len(points))).round().astype(int))
    half_width = (xlim[1] - xlim[0]) / 6

    def draw(k):
        i = shown[k]
        trail.set_data(points[:i], values[:i])
        current.set_data(points[i:i + 1], values[i:i + 1])
        if slope is not None:
            tangent.set_data(*_tangent_xy(points[i], values[i], float(slope(points[i])), half_width))
        ax.set_title(titles[i] if titles is not None else f"{xlabel} = {points[i]:.4g}")
        return trail, current, tangent

    anim = animation.FuncAnimation(fig, draw, frames=len(shown), interval=interval, blit=False)
    plt.close(fig)
    return anim


def schedule_curves(schedules, steps, ax=None, log=False, styles=None):
    """Learning rate against step for several schedules, one line each.

    ``schedules`` maps a label to a :class:`gdcore.schedules.Schedule`; each is
    drawn for steps 0 .. ``steps - 1``, on a log-scaled rate axis with ``log=True``.
    ``styles`` maps a label to keyword arguments for ``ax.plot`` (``color``, ``ls``, ...),
    so that a schedule keeps its look in every figure; labels it lacks get the defaults.
    Returns the axes.
    """
    steps = validate.positive_int("steps", steps)
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    styles = styles or {}
    for label, schedule in schedules.items():
        ax.plot(np.arange(steps), schedule.values(steps), label=label, **styles.get(label, {}))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel(r"learning rate $\alpha_t$")
    ax.legend(fontsize=8)
    return ax


def range_test_curve(result, ax=None):
    """A learning-rate range test (:func:`gdcore.train.lr_range_test`): batch losses (faint)
    and their smoothed curve against the learning rate, both axes logarithmic, with dotted
    lines at ``result.lr_steepest`` and ``result.lr_at_minimum``. The loss axis stops at
    twice the starting loss, so the blow-up runs off the top. Returns the axes.
    """
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    ax.plot(result.lr, result.batch_loss, color="C0", alpha=0.3, lw=0.8, label="batch loss")
    ax.plot(result.lr, result.smoothed, color="C0", label="smoothed batch loss")
    for value, name, color in ((result.lr_steepest, "steepest fall", "C2"),
                               (result.lr_at_minimum, "lowest point", "C3")):
        ax.axvline(value, color=color, ls=":", label=f"{name}: lr = {value:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(result.smoothed.min() / 2, 2 * result.smoothed[0])
    ax.set_xlabel("learning rate (grows every step)")
    ax.set_ylabel("batch loss")
    ax.legend(fontsize=8)
    return ax


def animation_html(anim, dpi=80):
    """The animation as an HTML player for the static book (JPEG frames at ``dpi``, a few MB at most).

    End a notebook cell with it: ``gd.plots.animation_html(anim)``. The player's
    element ids are random, so tag that cell ``nbval-ignore-output``.
    """
    from IPython.display import HTML

    with plt.rc_context({"animation.frame_format": "jpeg", "savefig.dpi": dpi}):
        return HTML(anim.to_jshtml())


def polynomial_fit(theta, x_train, y_train, x_val=None, y_val=None, ax=None, xlim=(-1, 1),
                   ylim=None, label=None, color="C3"):
    """Training points (filled), validation points (hollow) and the polynomial
    ``theta[0] x + ... + theta[d-1] x^d + theta[d]`` (the layout of
    :class:`gdcore.LinearRegression` on :func:`gdcore.datasets.polynomial_features`:
    coefficients, then the intercept). Returns the axes."""
    ax = ax or plt.subplots(figsize=(5, 4))[1]
    theta = to_numpy(theta)
    xs = np.linspace(*xlim, 300)
    powers = xs[:, None] ** np.arange(1, len(theta))
    ax.plot(x_train, y_train, "o", color="C0", ms=4, label="training data")
    if x_val is not None:
        ax.plot(x_val, y_val, "o", mfc="none", color="C1", ms=4, label="validation data")
    ax.plot(xs, powers @ theta[:-1] + theta[-1], color=color, label=label)
    ax.set_xlim(*xlim)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return ax


def decision_boundary(predict, X, y, ax=None, resolution=200, padding=0.3, title=None):
    """The classes a classifier predicts over the plane, with the data on top.

    ``predict`` maps an (m, 2) array of points to m integer class labels (any model:
    a linear one, or a network wrapped to return NumPy labels); ``X`` (n, 2) and
    ``y`` (n labels) are drawn coloured by their true class. Returns the axes.
    """
    X, y = to_numpy(X), to_numpy(y)
    ax = ax or plt.subplots(figsize=(4.5, 4))[1]
    low, high = X.min(axis=0) - padding, X.max(axis=0) + padding
    g1, g2 = np.meshgrid(np.linspace(low[0], high[0], resolution),
                         np.linspace(low[1], high[1], resolution))
    labels = to_numpy(predict(np.column_stack([g1.ravel(), g2.ravel()]))).reshape(g1.shape)
    classes = int(max(y.max(), labels.max())) + 1
    cmap = ListedColormap([f"C{k}" for k in range(classes)])
    ax.contourf(g1, g2, labels, levels=np.arange(classes + 1) - 0.5, cmap=cmap, alpha=0.25)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=classes - 0.5, s=10,
               edgecolors="k", linewidths=0.3)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title is not None:
        ax.set_title(title, fontsize=10)
    return ax


def animate_frames(draw, frames, figsize=(5, 4), interval=400, ncols=1):
    """An animation whose frame ``k`` is drawn from scratch by ``draw(axes, k)``
    (``axes`` a list of ``ncols`` axes, cleared before each frame). Render it with
    :func:`animation_html`; the figure is closed so that only the animation is shown."""
    frames = validate.positive_int("frames", frames)
    fig, axes = plt.subplots(1, ncols, figsize=figsize, squeeze=False)
    axes = list(axes[0])
    fig.subplots_adjust(bottom=0.15, wspace=0.3)  # room for axis labels; no layout per frame

    def update(k):
        for ax in axes:
            ax.clear()
        draw(axes, k)
        return []

    anim = animation.FuncAnimation(fig, update, frames=frames, interval=interval, blit=False)
    plt.close(fig)
    return anim


def decision_regions(model, x, y, ax=None, xlim=(-1.2, 1.2), ylim=(-1.2, 1.2), resolution=150,
                     title=None):
    """The plane coloured by a torch classifier's predicted class, with the points
    ``x`` (shape (n, 2)) coloured by their labels ``y``."""
    from .nn import grid_predictions
    ax = ax or plt.subplots(figsize=(4.5, 4.5))[1]
    x, y = to_numpy(x), to_numpy(y)
    classes = int(y.max()) + 1
    xs, ys, labels = grid_predictions(model, xlim, ylim, resolution)
    cmap = plt.get_cmap("tab10")
    ax.contourf(xs, ys, labels, levels=np.arange(classes + 1) - 0.5, alpha=0.25,
                colors=[cmap(c) for c in range(classes)])
    ax.scatter(x[:, 0], x[:, 1], c=[cmap(c) for c in y], s=8, edgecolors="none")
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def animate_decision_regions(models, x, y, titles, interval=400, figsize=(4.5, 4.5), **options):
    """An animation with one frame per model in ``models`` (e.g. copies of one network
    taken during training), each drawn by :func:`decision_regions` with its title.
    Render it with :func:`animation_html`."""
    fig, ax = plt.subplots(figsize=figsize)

    def draw(k):
        ax.clear()
        decision_regions(models[k], x, y, ax=ax, title=titles[k], **options)
        return []

    anim = animation.FuncAnimation(fig, draw, frames=len(models), interval=interval, blit=False)
    plt.close(fig)
    return anim


def animate_ring_all_reduce(workers, interval=900, figsize=(7, 3.2)):
    """The ring all-reduce among ``workers`` processes, one frame per step of
    :func:`gdcore.distributed.ring_all_reduce`: a row per worker, a cell per chunk,
    shaded by how many workers' values that copy of the chunk already holds."""
    from .distributed import ring_all_reduce
    steps = ring_all_reduce(np.zeros((workers, workers)))["history"]
    fig, ax = plt.subplots(figsize=figsize)

    def draw(s):
        ax.clear()
        counts = steps[s]
        ax.imshow(counts, cmap="Blues", vmin=0, vmax=workers, aspect="auto")
        for i in range(workers):
            for c in range(workers):
                ax.text(c, i, f"{int(counts[i, c])}/{workers}", ha="center", va="center",
                        fontsize=9, color="black" if counts[i, c] < workers * 0.7 else "white")
        ax.set_xticks(range(workers), [f"chunk {c}" for c in range(workers)])
        ax.set_yticks(range(workers), [f"worker {i}" for i in range(workers)])
        phase = ("start" if s == 0 else f"reduce-scatter, step {s}" if s < workers
                 else f"all-gather, step {s - workers + 1}")
        ax.set_title(f"{phase}: contributions summed into each copy", fontsize=10)
        return []

    anim = animation.FuncAnimation(fig, draw, frames=len(steps), interval=interval, blit=False)
    plt.close(fig)
    return anim
