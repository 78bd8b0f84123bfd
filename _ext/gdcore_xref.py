"""Sphinx extension: let ``gdcore.fit`` (or ``gd.fit``) resolve to ``gdcore.train.fit``.

gdcore re-exports its main names at the top level, and chapters and
docstrings refer to them that way, while the API reference documents each
object once, in the module that defines it. When a Python cross-reference to
a top-level name finds no target, this handler looks the object up in the
package and retries with its defining module's full name. Anything that
still does not resolve is left alone, so nitpicky mode reports it.
"""
import importlib

PREFIXES = ("gdcore.", "gd.")


def canonical_name(target):
    """``gdcore.train.fit`` for ``gdcore.fit`` or ``gd.fit``; None when unknown."""
    for prefix in PREFIXES:
        if target.startswith(prefix):
            head, _, rest = target[len(prefix):].partition(".")
            break
    else:
        return None
    try:
        obj = getattr(importlib.import_module("gdcore"), head)
    except (ImportError, AttributeError):
        return None
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(obj, type(importlib)):  # a submodule: gd.plots -> gdcore.plots
        name = obj.__name__
    elif module and qualname:
        name = f"{module}.{qualname}"
    else:
        return None
    return f"{name}.{rest}" if rest else name


def resolve_reexport(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = canonical_name(node.get("reftarget", ""))
    if target is None or target == node.get("reftarget"):
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node.get("refdoc"), app.builder, node.get("reftype"),
                               target, node, contnode)


def setup(app):
    app.connect("missing-reference", resolve_reexport)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
