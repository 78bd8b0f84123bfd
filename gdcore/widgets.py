"""Live explorers for Jupyter and Colab, built on ipywidgets.

Each ``explore_*`` function returns an ``ipywidgets`` box holding its
sliders and an output area redrawn whenever a slider moves; the static
book shows an animation instead (see :func:`gdcore.plots.animate_paths`).
"""
import ipywidgets as widgets
import matplotlib.pyplot as plt


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
