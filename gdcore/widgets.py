"""Live explorers for Jupyter and Colab, built on ipywidgets.

Each ``explore_*`` function returns an ``ipywidgets`` box holding its
sliders and an output area redrawn whenever a slider moves; the static
book shows an animation instead (see :func:`gdcore.plots.animate_paths`).
"""
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from . import schedules, validate
from .momentum_theory import predicted_rate
from .optim import SGD, Momentum, Nesterov
from .plots import contour_paths, draw_tangent, loss_curves, schedule_curves
from .problems import LinearRegression, Problem, Quadratic, standardize
from .train import fit


def live_figure(draw, **sliders):
    """Sliders plus an output area where ``draw(ax, **values)`` redraws on every change.

    Returns the ``VBox``; its ``children[:-1]`` are the sliders (so a test can
    set ``slider.value`` and check the redrawn output) and ``children[-1]`` the output.
    """
    out = widgets.Output()

    def redraw(_=None):
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(6, 4))
            draw(ax, **{name: s.value for name, s in sliders.items()})
            plt.show()

    for s in sliders.values():
        s.observe(redraw, names="value")
    redraw()
    return widgets.VBox([*sliders.values(), out])


_LABEL = {"description_width": "initial"}  # room for descriptive slider labels


def log_slider(value, bounds, description, step=0.05):
    """A slider over ``bounds = (low, high)`` on a log scale that fires when released."""
    return widgets.FloatLogSlider(value=value, base=10, min=math.log10(bounds[0]),
                                  max=math.log10(bounds[1]), step=step, readout_format=".3g",
                                  description=description, continuous_update=False, style=_LABEL)


def explore_gradient_descent(problem, lr=0.1, start=(-1.5, 1.5), steps=40, xlim=(-2, 2),
                             ylim=(-2, 2), lr_range=(1e-3, 1.0)):
    """Plain gradient descent on a 2-parameter ``problem``, redrawn live: sliders for the
    learning rate (log scale, within ``lr_range``) and the start point (within ``xlim``,
    ``ylim``); the plot shows the path of ``steps`` updates on the loss contours. The
    title gives the final loss, says "growing" when it ended above the starting loss,
    and gives the step at which :func:`gdcore.fit` declared divergence, if it did.
    """

    def draw(ax, lr, x0, y0):
        theta = np.array([x0, y0], dtype=float)
        history = fit(problem, SGD(theta, lr=lr), steps=steps, record_trajectory=True)
        contour_paths(problem, [history.trajectory], xlim, ylim, ax=ax)
        outcome = f"loss {history.final_loss:.3g} after {history.steps_taken} steps"
        if history.diverged:
            outcome = f"diverged at step {history.diverged_at}"
        elif history.final_loss > history.loss[0]:
            outcome = f"growing: {outcome} (start {history.loss[0]:.3g})"
        ax.set_title(f"learning rate {lr:.3g}: {outcome}", fontsize=10)

    def start_slider(value, bounds, description):
        return widgets.FloatSlider(value=value, min=bounds[0], max=bounds[1], step=0.05,
                                   description=description, continuous_update=False, style=_LABEL)

    return live_figure(
        draw,
        lr=log_slider(lr, lr_range, "learning rate"),
        x0=start_slider(start[0], xlim, "start θ₁"),
        y0=start_slider(start[1], ylim, "start θ₂"))


def explore_coefficient(problem, w=0.3, h=0.05, w_range=(-1.0, 0.6)):
    """The loss curve of a one-coefficient problem (``problem.shape == (1,)``) with two sliders.

    ``w`` moves the current point and its tangent, whose slope is ``problem.grad``;
    ``h`` is the probe width: the dotted secant through ``(w - h, J(w - h))`` and
    ``(w + h, J(w + h))`` has the central-difference slope. The title prints both slopes.
    """
    if tuple(problem.shape) != (1,):
        raise ValueError(f"problem must have one coefficient (shape (1,)), got shape {tuple(problem.shape)}")

    def loss(v):
        return float(problem.loss(np.array([v], dtype=float)))

    xs = np.linspace(*w_range, 200)
    curve = np.array([loss(x) for x in xs])
    span = curve.max() - curve.min()
    half_width = (w_range[1] - w_range[0]) / 6

    def draw(ax, w, h):
        ax.plot(xs, curve, color="C0", label="loss J(w)")
        value, slope = loss(w), float(problem.grad(np.array([w], dtype=float))[0])
        down, up = loss(w - h), loss(w + h)
        estimate = (up - down) / (2 * h)
        draw_tangent(ax, w, value, slope, half_width, label="tangent")
        draw_tangent(ax, w, (up + down) / 2, estimate, max(h, half_width), color="C2", ls=":", lw=2,
                     label="secant through w ± h")
        ax.plot([w - h, w + h], [down, up], "s", color="C2", ms=5)
        ax.plot([w], [value], "o", color="C1", ms=8)
        ax.set_xlim(*w_range)
        ax.set_ylim(curve.min() - 0.05 * span, curve.max() + 0.05 * span)
        ax.set_xlabel("w")
        ax.set_ylabel("loss J(w)")
        ax.set_title(f"w = {w:.2f}, J(w) = {value:.4f}\n"
                     f"slope J'(w) = {slope:.4f}, probe estimate = {estimate:.4f}", fontsize=10)
        ax.legend(loc="upper center", fontsize=8)

    return live_figure(
        draw,
        w=widgets.FloatSlider(value=w, min=w_range[0], max=w_range[1], step=0.01, description="w"),
        h=widgets.FloatSlider(value=h, min=0.01, max=0.5, step=0.01, description="probe h"),
    )


def _side_by_side(ax, width=10.0):
    """Split the axes that :func:`live_figure` made into a left and a right panel."""
    fig = ax.figure
    fig.set_size_inches(width, fig.get_figheight())
    left_spec, right_spec = ax.get_subplotspec().subgridspec(1, 2, wspace=0.3)
    ax.set_subplotspec(left_spec)
    return ax, fig.add_subplot(right_spec)


def explore_batch_size(problem, start, xlim, ylim, batch_size=32, lr=0.1, steps=100, seed=0,
                       lr_range=(1e-3, 1.0)):
    """Mini-batch gradient descent on a 2-parameter data problem, redrawn live.

    Sliders: the batch size ``m`` (powers of two below ``n``, then ``n`` itself, which
    is batch gradient descent) and the learning rate (log scale, within ``lr_range``).
    Left: the path of ``steps`` updates from ``start`` (batches reshuffled every epoch,
    ``seed`` fixed) on the loss contours. Right: the loss on each step's batch (faint)
    and the loss on all training data, against the update count.
    """

    n = problem.n_samples
    if n is None or tuple(problem.shape) != (2,):
        raise ValueError("problem must be a data problem with 2 parameters (n_samples set, shape (2,))")
    sizes = [2 ** k for k in range(n.bit_length()) if 2 ** k < n] + [n]
    if batch_size not in sizes:
        raise ValueError(f"batch_size must be one of {sizes}, got {batch_size!r}")

    def draw(ax, batch_size, lr):
        left, right = _side_by_side(ax)
        history = fit(problem, SGD(np.array(start, dtype=float), lr=lr), steps=steps,
                      batch_size=batch_size, seed=seed, record_trajectory=True)
        contour_paths(problem, [history.trajectory], xlim, ylim, ax=left, resolution=60)
        name = "BGD" if batch_size == n else "SGD" if batch_size == 1 else "MBGD"
        left.set_title(f"{name}, m = {batch_size}, learning rate {lr:.3g}", fontsize=10)
        loss_curves({"loss on all training data": history}, ax=right, batch=True,
                     batch_label="loss on the step's batch")
        right.legend(fontsize=8)
        right.set_xlabel("parameter updates")
        outcome = (f"diverged at step {history.diverged_at}" if history.diverged
                   else f"{history.epoch[-1]:.3g} epochs, "
                        f"final loss {history.final_loss:.4g}")
        right.set_title(outcome, fontsize=10)

    return live_figure(
        draw,
        batch_size=widgets.SelectionSlider(options=sizes, value=batch_size, description="batch size m",
                                           continuous_update=False, style=_LABEL),
        lr=log_slider(lr, lr_range, "learning rate"))


def explore_feature_scaling(x, y, start=(1.2, -1.0), lr=0.3, scale=1.0, steps=60,
                            lr_range=(1e-3, 3.0), scale_range=(0.25, 8.0)):
    r"""Batch gradient descent on the line fit :math:`y \approx a\,(s x) + b`, redrawn live.

    Sliders: the learning rate and the feature scale :math:`s`, which multiplies ``x`` as a
    change of units would (both on log scales); a checkbox standardises :math:`s x` first
    (:func:`gdcore.problems.standardize`). Every setting starts from the same line,
    ``start`` = (a, b) in the units of ``x``, written in the current coordinates, so only
    the coordinates change. Left: ``steps`` full-batch updates on the loss contours; the
    title gives :math:`\kappa` of the Hessian :math:`X^\top X/n` and the largest stable
    learning rate :math:`2/\lambda_{\max}`. Right: the loss gap :math:`J(\theta_t) - J^*`.
    """

    x = np.asarray(x, dtype=float).reshape(len(y), -1)
    if x.shape[1] != 1:
        raise ValueError(f"x must hold one feature (shape (n,) or (n, 1)), got shape {x.shape}")

    def draw(ax, lr, scale, standardise):
        left, right = _side_by_side(ax)
        a0, b0 = start[0] / scale, start[1]
        feature = scale * x
        if standardise:
            feature, mean, std = standardize(feature)
            a0, b0 = a0 * std[0], b0 + a0 * mean[0]
        problem = LinearRegression(feature, y)
        eigenvalues = np.linalg.eigvalsh(problem.X.T @ problem.X / problem.n_samples)
        best = problem.solution()
        history = fit(problem, SGD(np.array([a0, b0]), lr=lr), steps=steps, batch_size=None,
                      record_trajectory=True)
        corner = np.array([a0, b0])
        half = 0.75 * np.abs(corner - best).max() + 1e-9
        middle = (corner + best) / 2
        contour_paths(problem, [history.trajectory], (middle[0] - half, middle[0] + half),
                      (middle[1] - half, middle[1] + half), ax=left, resolution=60)
        left.plot(*best, "kx", ms=8)
        left.set_aspect("equal")  # a square window drawn square: angles and zig-zags are true
        left.set_xlabel("slope a" + (" (standardised)" if standardise else ""))
        left.set_ylabel("intercept b" + (" (standardised)" if standardise else ""))
        left.set_title(f"κ = {eigenvalues[-1] / eigenvalues[0]:.3g}, "
                       f"2/λ_max = {2 / eigenvalues[-1]:.3g}, α = {lr:.3g}", fontsize=10)
        gap = np.maximum(history.loss - float(problem.loss(best)), 1e-16)
        right.semilogy(history.step, gap)
        right.set_xlabel("step")
        right.set_ylabel("loss gap J(θ) − J*")
        outcome = f"gap {gap[-1]:.2g} after {history.steps_taken} steps"
        if history.diverged:
            outcome = f"diverged at step {history.diverged_at}"
        elif gap[-1] > gap[0]:
            outcome = "diverging: " + outcome
        right.set_title(outcome, fontsize=10)

    return live_figure(
        draw,
        lr=log_slider(lr, lr_range, "learning rate"),
        scale=log_slider(scale, scale_range, "feature scale s"),
        standardise=widgets.Checkbox(value=False, description="standardise the feature"))


def _schedule_ending_at(name, lr, steps, final_ratio, warmup_steps=0):
    """The :mod:`gdcore.schedules` schedule ``name`` from ``lr``, its decay set so that the
    rate at the last step of a ``steps``-step run (t = steps - 1) is ``lr * final_ratio``
    (step decay: a drop every quarter of the run, rounded up, so two or three drops
    by the last step), after ``warmup_steps`` of linear warm-up (0: none). ``steps >= 4``."""

    last, end = steps - 1, lr * final_ratio
    step_size = math.ceil(steps / 4)
    params = {"constant": {},
              "step": {"step_size": step_size, "gamma": final_ratio ** (1 / (last // step_size))},
              "exponential": {"gamma": final_ratio ** (1 / last)},
              "linear": {"total_steps": last, "end_lr": end},
              "inverse_time": {"decay": (1 / final_ratio - 1) / last},
              "cosine": {"total_steps": last, "min_lr": end}}
    return schedules.make(name, lr, warmup_steps=warmup_steps, **params[name])


def _late_loss(history):
    """Mean full-data loss over the last tenth of a run (infinite if it diverged):
    the level a noisy run ends at, less jittery than its last value."""
    if history.diverged:
        return math.inf
    return float(np.mean(history.loss[-max(1, len(history.loss) // 10):]))


def explore_schedules(problem, lr=0.1, steps=200, batch_size=None, seed=0, theta0=None,
                      lr_range=(1e-3, 1.0)):
    """A learning-rate schedule against a fairly tuned constant rate, redrawn live.

    Controls: the schedule (a name in ``gdcore.schedules.SCHEDULES``), its
    starting rate (log scale, within ``lr_range``), the ratio of its rate at the
    last step (t = ``steps - 1``) to the start, linear warm-up steps (0: none), and
    the constant rate it is compared with. That baseline has its own slider and
    starts at the best constant rate for this budget: of the rates a factor of 2
    apart from ``lr_range[0]`` up to ``lr_range[1]``, the one whose run ends lowest
    (mean full-data loss over the last tenth of the steps). Left: both rates against
    the step. Right: the loss on all data of :func:`gdcore.train.fit` with SGD from
    ``theta0`` (zeros by default) for ``steps`` steps of ``batch_size`` samples
    (``seed`` fixed), for both; the title gives each run's late loss.
    """

    steps = validate.positive_int("steps", steps)
    if steps < 4:
        raise ValueError(f"steps must be an integer >= 4, got {steps!r}")
    start = np.zeros(problem.shape) if theta0 is None else np.array(theta0, dtype=float)

    def run(rate):
        return fit(problem, SGD(start.copy(), lr=rate), steps=steps, batch_size=batch_size,
                   seed=seed)

    grid = lr_range[0] * 2.0 ** np.arange(math.floor(math.log2(lr_range[1] / lr_range[0])) + 1)
    best_constant = float(min(grid, key=lambda rate: _late_loss(run(rate))))

    def draw(ax, schedule, lr, final_ratio, warmup_steps, constant_lr):
        left, right = _side_by_side(ax)
        chosen = _schedule_ending_at(schedule, lr, steps, final_ratio, warmup_steps)
        label = schedule + (f" + {warmup_steps} warm-up steps" if warmup_steps else "")
        baseline = f"constant {constant_lr:.3g}" + (
            f" (best of the grid for {steps} steps)" if constant_lr == best_constant else "")
        runs = {baseline: schedules.constant(constant_lr), label: chosen}
        schedule_curves(runs, steps, ax=left, log=True)
        histories = {name: run(rate) for name, rate in runs.items()}
        loss_curves(histories, ax=right)
        right.legend(fontsize=7)
        right.set_title("mean loss, last tenth of the steps: " + ", ".join(
            "diverged" if h.diverged else f"{_late_loss(h):.4g}" for h in histories.values()),
            fontsize=9)

    return live_figure(
        draw,
        schedule=widgets.Dropdown(options=list(schedules.SCHEDULES), value="cosine",
                                  description="schedule", style=_LABEL),
        lr=log_slider(lr, lr_range, "start rate"),
        final_ratio=log_slider(0.01, (1e-3, 0.5), "end rate / start rate", step=0.1),
        warmup_steps=widgets.IntSlider(value=0, min=0, max=steps // 2, step=5,
                                       description="warm-up steps", continuous_update=False,
                                       style=_LABEL),
        constant_lr=log_slider(best_constant, lr_range, "constant rate (baseline)"))


def explore_momentum(problem, lr=0.02, beta=0.8, start=(-1.5, 1.5), steps=60, xlim=(-2, 2),
                     ylim=(-2, 2), lr_range=(1e-3, 1.0)):
    """Gradient descent and momentum on a 2-parameter :class:`gdcore.Quadratic`, redrawn live.

    Sliders: the learning rate (log scale, within ``lr_range``) and ``beta``; a checkbox
    switches the heavy ball for Nesterov. Left: both paths of ``steps`` updates from
    ``start`` on the loss contours. Right: the distance to the minimiser against the
    step, with the rate the theory predicts (:func:`gdcore.momentum_theory.predicted_rate`)
    in the legend.
    """
    if not isinstance(problem, Quadratic) or tuple(problem.shape) != (2,):
        raise ValueError("problem must be a gdcore.Quadratic with 2 parameters")
    best = problem.solution()

    def draw(ax, lr, beta, nesterov):
        left, right = _side_by_side(ax)
        method = Nesterov if nesterov else Momentum
        runs = {"gradient descent": SGD(np.array(start, dtype=float), lr=lr),
                f"{'Nesterov' if nesterov else 'heavy ball'}, β = {beta:.2f}":
                    method(np.array(start, dtype=float), lr=lr, beta=beta)}
        histories = {name: fit(problem, opt, steps=steps, record_trajectory=True)
                     for name, opt in runs.items()}
        contour_paths(problem, [h.trajectory for h in histories.values()], xlim, ylim, ax=left,
                      labels=list(histories), resolution=60)
        left.set_title(f"learning rate {lr:.3g}", fontsize=10)
        for (name, h), b in zip(histories.items(), (0.0, beta)):
            rate = predicted_rate(problem.eigenvalues, lr, b, nesterov and b > 0)
            distance = np.linalg.norm(h.trajectory - best, axis=1)
            outcome = f"diverged at step {h.diverged_at}" if h.diverged else f"predicted rate {rate:.3f}"
            right.semilogy(h.step, np.maximum(distance, 1e-300), label=f"{name}: {outcome}")
        right.set_xlabel("step")
        right.set_ylabel("distance to the minimum")
        right.legend(fontsize=7)

    return live_figure(
        draw,
        lr=log_slider(lr, lr_range, "learning rate"),
        beta=widgets.FloatSlider(value=beta, min=0.0, max=0.99, step=0.01, description="β",
                                 continuous_update=False, style=_LABEL),
        nesterov=widgets.Checkbox(value=False, description="Nesterov"))
class _ScaledLoss(Problem):
    """``factor`` times the loss of a problem without data, and so ``factor`` times its gradient."""

    def __init__(self, problem, factor):
        self.problem, self.factor, self.shape = problem, factor, problem.shape

    def loss(self, theta, idx=None):
        return self.factor * self.problem.loss(theta)

    def grad(self, theta, idx=None):
        return self.factor * self.problem.grad(theta)


def explore_optimizers(problem, start, xlim=(-2, 2), ylim=(-2, 2), optimizer="Adam", lr=0.1,
                       steps=100, optimum=0.0, lr_range=(1e-4, 3.0)):
    """Any gdcore optimiser on a 2-parameter ``problem``, redrawn live.

    Controls: the optimiser (SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam, AdamW,
    each with its default hyperparameters), the learning rate (log scale, within
    ``lr_range``) and a factor that multiplies the loss (and so every gradient).
    Left: the path of ``steps`` updates from ``start`` on the contours. Right: the excess
    loss :math:`J - J^*` (``optimum`` is :math:`J^*`) of the unscaled loss against the step.
    """
    from . import optim

    names = ["SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam", "AdamW"]
    if optimizer not in names:
        raise ValueError(f"optimizer must be one of {names}, got {optimizer!r}")

    def draw(ax, optimizer, lr, scale):
        left, right = _side_by_side(ax)
        opt = getattr(optim, optimizer)(np.array(start, dtype=float), lr=lr)
        history = fit(_ScaledLoss(problem, scale), opt, steps=steps, record_trajectory=True)
        excess = history.loss / scale - optimum
        contour_paths(problem, [history.trajectory], xlim, ylim, ax=left, resolution=60)
        left.set_title(f"{optimizer}, learning rate {lr:.3g}, loss × {scale:g}", fontsize=10)
        right.semilogy(history.step, np.maximum(excess, 1e-16))
        right.set_xlabel("step")
        right.set_ylabel("excess loss J − J* (unscaled)")
        outcome = (f"diverged at step {history.diverged_at}" if history.diverged
                   else f"final excess loss {excess[-1]:.3g}")
        right.set_title(outcome, fontsize=10)

    return live_figure(
        draw,
        optimizer=widgets.Dropdown(options=names, value=optimizer, description="optimiser",
                                   style=_LABEL),
        lr=log_slider(lr, lr_range, "learning rate"),
        scale=log_slider(1.0, (1e-2, 1e4), "loss × factor", step=0.5))


def explore_regularisation(x_train, y_train, x_val, y_val, degree=12, strength=1e-3,
                           strength_range=(1e-6, 1.0), steps=3000):
    r"""A polynomial fit of ``degree`` with an L2 or L1 penalty of strength :math:`\lambda`,
    redrawn live. Controls: the penalty and :math:`\lambda` (log scale). L2 is solved in
    closed form (:meth:`gdcore.problems.L2Penalty.solution`); L1 by ``steps`` proximal
    gradient steps (ISTA, :func:`gdcore.train.fit` with ``proximal=True``) at rate
    :math:`1/\lambda_{\max}`. Left: the fit over the data; right: the coefficients, with the
    number that are exactly zero and the training and validation losses in the titles.
    """
    from .datasets import polynomial_features
    from .plots import polynomial_fit
    from .problems import L1Penalty, L2Penalty

    train = LinearRegression(polynomial_features(x_train, degree), y_train)
    val = LinearRegression(polynomial_features(x_val, degree), y_val)
    lr = 1 / np.linalg.eigvalsh(train.X.T @ train.X / train.n_samples)[-1]

    def draw(ax, penalty, strength):
        left, right = _side_by_side(ax)
        if penalty == "L2":
            theta = L2Penalty(train, strength).solution()
        else:
            theta = np.zeros(train.shape)
            fit(L1Penalty(train, strength), SGD(theta, lr=lr), steps=steps, proximal=True)
        ylim = (min(y_train.min(), y_val.min()) - 0.5, max(y_train.max(), y_val.max()) + 0.5)
        polynomial_fit(theta, x_train, y_train, x_val, y_val, ax=left, ylim=ylim)
        left.set_title(f"train loss {train.loss(theta):.3g}, validation loss {val.loss(theta):.3g}",
                       fontsize=10)
        right.bar(np.arange(1, degree + 2), theta, color="C3")
        right.set_xticks(np.arange(1, degree + 2),
                         [str(k) for k in range(1, degree + 1)] + ["b"], fontsize=7)
        right.set_xlabel("coefficient of x^k (b: intercept)")
        right.set_title(f"{penalty}, λ = {strength:.2g}: {np.count_nonzero(theta == 0)} of "
                        f"{len(theta)} exactly zero", fontsize=10)

    return live_figure(
        draw,
        penalty=widgets.ToggleButtons(options=["L2", "L1"], value="L2", description="penalty"),
        strength=log_slider(strength, strength_range, "strength λ", step=0.1))


def explore_classifier(X, y, lr=0.05, epochs=30, batch_size=32, val_fraction=0.3, seed=0,
                       lr_range=(1e-3, 1.0)):
    """Softmax regression (a linear classifier) trained with mini-batch Adam on 2-D data,
    redrawn live. Sliders: the learning rate (log scale), epochs and batch size. Left: the
    predicted classes over the plane and the training data; right: the cross-entropy on
    training and validation data (a seeded ``val_fraction`` split) against epochs, with
    both accuracies in the title.
    """
    from .datasets import train_val_split
    from .optim import Adam
    from .plots import decision_boundary
    from .problems import SoftmaxRegression

    X_tr, X_val, y_tr, y_val = train_val_split(X, y, val_fraction, seed)
    classes = int(y.max()) + 1
    train = SoftmaxRegression(X_tr, y_tr, n_classes=classes)
    val = SoftmaxRegression(X_val, y_val, n_classes=classes)

    def draw(ax, lr, epochs, batch_size):
        left, right = _side_by_side(ax)
        theta = np.zeros(train.shape)
        per_epoch = -(-train.n_samples // batch_size)
        history = fit(train, Adam(theta, lr=lr), epochs=epochs, batch_size=batch_size, seed=seed,
                      validation=val, eval_every=per_epoch)
        decision_boundary(lambda P: train.predict(theta, P), X_tr, y_tr, ax=left, resolution=120)
        left.set_title(f"accuracy: train {train.accuracy(theta):.2f}, "
                       f"validation {val.accuracy(theta):.2f}", fontsize=10)
        right.plot(history.epoch, history.loss, label="training")
        right.plot(history.epoch, history.val_loss, label="validation")
        right.set_xlabel("epoch")
        right.set_ylabel("cross-entropy")
        right.legend(fontsize=8)

    return live_figure(
        draw,
        lr=log_slider(lr, lr_range, "learning rate"),
        epochs=widgets.IntSlider(value=epochs, min=1, max=100, description="epochs",
                                 continuous_update=False, style=_LABEL),
        batch_size=widgets.SelectionSlider(options=[1, 4, 16, 32, 64, 128], value=batch_size,
                                           description="batch size", continuous_update=False,
                                           style=_LABEL))


def explore_mlp(x, y, hidden=32, layers=2, lr=0.01, epochs=30, batch_size=32, seed=0):
    """An :func:`gdcore.nn.mlp` trained with Adam on 2-D points ``x`` (NumPy, shape (n, 2))
    with class labels ``y``, redrawn live: sliders for the hidden width, the number
    of hidden layers (0 is the linear model), the learning rate and the epochs.
    The plot shows the decision regions and the title the training accuracy."""
    import torch

    from .nn import accuracy, mlp, train
    from .plots import decision_regions
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
    classes = int(yt.max()) + 1

    def draw(ax, hidden, layers, lr, epochs):
        model = mlp([2] + [hidden] * layers + [classes], seed=seed)
        log = train(model, xt, yt, torch.optim.Adam(model.parameters(), lr=lr), epochs,
                    batch_size, seed=seed)
        outcome = "diverged" if log.diverged else f"training accuracy {accuracy(model, xt, yt):.0%}"
        decision_regions(model, x, y, ax=ax, title=f"{layers} hidden layer(s) of {hidden}: {outcome}")

    return live_figure(
        draw,
        hidden=widgets.IntSlider(value=hidden, min=2, max=128, description="hidden width",
                                 continuous_update=False, style=_LABEL),
        layers=widgets.IntSlider(value=layers, min=0, max=3, description="hidden layers",
                                 continuous_update=False, style=_LABEL),
        lr=log_slider(lr, (1e-4, 1.0), "learning rate"),
        epochs=widgets.IntSlider(value=epochs, min=1, max=100, description="epochs",
                                 continuous_update=False, style=_LABEL))


def explore_scaling(x, y, lr=0.1, batch_size=32, epochs=20, workers=8, warmup_epochs=2,
                    sizes=(2, 64, 64, 3), beta=0.9, seed=0):
    """The linear scaling rule, live: momentum SGD (``beta``, 0 for plain SGD) on an
    :func:`gdcore.nn.mlp` with batch ``batch_size`` and rate ``lr`` (the small-batch
    reference) against batch ``workers * batch_size`` with rate ``workers * lr``,
    reached by a linear warm-up over ``warmup_epochs``.
    A large batch on one process stands for ``workers`` data-parallel workers (the
    two are equal, as the chapter shows). Plots the full-data loss per epoch."""
    import torch

    from .nn import mlp, train
    from .schedules import constant, warmup
    from .torch_optim import Momentum
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)

    def run(m, rate):
        model = mlp(list(sizes), seed=seed)
        return train(model, xt, yt, Momentum(model.parameters(), lr=rate, beta=beta), epochs, m,
                     seed=seed)

    reference = {}

    def draw(ax, workers, warmup_epochs):
        if "log" not in reference:
            reference["log"] = run(batch_size, lr)
        big = min(workers * batch_size, len(x))
        steps = max(1, round(warmup_epochs * -(-len(x) // big)))
        schedule = warmup(constant(workers * lr), steps) if warmup_epochs else workers * lr
        log = run(big, schedule)
        ax.semilogy(reference["log"].loss, "k-", label=f"m = {batch_size}, lr {lr:g}")
        label = f"m = {big}, lr {workers * lr:g}" + (f", warm-up {warmup_epochs} epochs"
                                                       if warmup_epochs else "")
        ax.semilogy(log.loss, "o-", ms=3, label=label + (" (diverged)" if log.diverged else ""))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss on all training data")
        ax.legend(fontsize=8)

    return live_figure(
        draw,
        workers=widgets.IntSlider(value=workers, min=1, max=64, description="workers k",
                                  continuous_update=False, style=_LABEL),
        warmup_epochs=widgets.IntSlider(value=warmup_epochs, min=0, max=10,
                                        description="warm-up epochs", continuous_update=False,
                                        style=_LABEL))
