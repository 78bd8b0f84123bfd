"""Sphinx extension: a book that renders with no network, in every script it shows.

- MathJax ships with the book: the files of the pinned ``sphinx-mathjax-offline``
  package are copied to ``_static/mathjax`` (``mathjax_path`` in _config.yml
  points there).
- Notebook outputs load nothing remote: matplotlib's ``to_jshtml`` animations
  link Font Awesome 4 from a CDN for their button icons; the link is dropped
  (the theme ships Font Awesome, which draws the same ``fa-*`` icons). Any other
  remote script or stylesheet in an output is a build warning, so the strict
  build fails on it.
- Inline scripts added twice to a page (sphinx-thebe declares
  ``const THEBE_JS_URL`` twice, a console error) are written once.
- Runs of Chinese characters get ``lang="zh-Hans"``, so browsers draw them with
  Simplified Chinese glyphs (without a mark, Linux browsers pick Japanese
  shapes); the chapters' text needs no mark-up for it.
- The bibliography's labels read like the citations in the text
  ("Kingma and Ba, 2015"), not [1], [2]: pybtex style ``author_year_labels``.
- The theme starts in "auto" (light or dark as the system says) colour mode:
  without a default, pydata-sphinx-theme logs "Got invalid theme mode" on a
  reader's first visit. (_static/dropdown-title.js fixes the other console
  error a reader can meet: a click on a solution title's text.)
- ``BOOK_EXECUTE=off jupyter-book build .`` renders the stored outputs
  instead of executing the chapters (``make test`` does this right after
  nbval has checked those outputs); any other value (force, cache, auto)
  also overrides ``execute_notebooks`` from _config.yml.
"""
import os
import re
import shutil
from importlib import metadata
from pathlib import Path

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

MATHJAX_PACKAGE = "sphinx-mathjax-offline"
#: MathJax's combined bundles other than the one the book loads (tex-chtml.js): not copied.
UNUSED_BUNDLES = re.compile(r"^(mml-|tex-mml-|tex-svg|tex-chtml-full|node-main)")

#: Han ideographs, CJK punctuation and full-width forms.
CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+")

#: The one remote stylesheet matplotlib's to_jshtml writes into an animation.
MATPLOTLIB_FONT_AWESOME = re.compile(
    r'<link\s+rel="stylesheet"\s+href="https://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]*"\s*/?>\s*')
REMOTE_LOAD = re.compile(r'<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*["\']?(https?:)?//', re.I)


def mathjax_source():
    """The folder holding MathJax's ``tex-chtml.js`` in the installed package."""
    try:
        files = metadata.files(MATHJAX_PACKAGE) or []
    except metadata.PackageNotFoundError:
        raise RuntimeError(f"{MATHJAX_PACKAGE} is not installed (pip install -r requirements.txt)")
    for file in files:
        if file.name == "tex-chtml.js" and file.parent.name == "mathjax":
            return Path(file.locate()).parent
    raise RuntimeError(f"{MATHJAX_PACKAGE} has no mathjax/tex-chtml.js")


def copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=lambda folder, names: [
        name for name in names if Path(folder) == source and UNUSED_BUNDLES.match(name)])


class CleanNotebookHtml(SphinxPostTransform):
    """Drop matplotlib's CDN stylesheet from HTML outputs; warn about any other remote load."""

    default_priority = 900
    formats = ("html",)

    def run(self):
        for raw in self.document.findall(nodes.raw):
            if "html" not in raw.get("format", "").split():
                continue
            html = MATPLOTLIB_FONT_AWESOME.sub("", raw.astext())
            if html != raw.astext():
                raw.children = [nodes.Text(html)]
            remote = REMOTE_LOAD.search(html)
            if remote:
                logger.warning("an output loads from a remote host: %s", remote.group(0)[:120],
                               location=raw)


class MarkChinese(SphinxPostTransform):
    """Wrap each run of Chinese characters in ``<span lang="zh-Hans">``."""

    default_priority = 910
    formats = ("html",)
    skip = (nodes.FixedTextElement, nodes.literal, nodes.raw, nodes.math, nodes.comment)

    def run(self):
        for text in list(self.document.findall(nodes.Text)):
            parent = text.parent
            if parent is None or isinstance(parent, self.skip) or not CJK_RUN.search(text):
                continue
            if isinstance(parent, nodes.inline) and "language-zh-Hans" in parent["classes"]:
                continue
            pieces, start = [], 0
            for run in CJK_RUN.finditer(text):
                if run.start() > start:
                    pieces.append(nodes.Text(text[start:run.start()]))
                pieces.append(nodes.inline(run.group(), run.group(), classes=["language-zh-Hans"]))
                start = run.end()
            if start < len(text):
                pieces.append(nodes.Text(text[start:]))
            parent.replace(text, pieces)


def write_inline_scripts_once(app, pagename, templatename, context, doctree):
    """Keep the first of several inline scripts with the same body."""
    scripts = context.get("script_files")
    if not scripts:
        return
    bodies, unique = set(), []
    for script in scripts:
        body = getattr(script, "attributes", {}).get("body")
        if getattr(script, "filename", None) or body not in bodies:
            unique.append(script)
        bodies.add(body)
    context["script_files"] = unique


class AuthorYearLabels(BaseLabelStyle):
    """Labels as the text cites: "Lee et al., 2016", "Kingma and Ba, 2015"."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield self.format_label(entry)

    def format_label(self, entry):
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [" ".join(person.rich_last_names[i].render_as("text")
                          for i in range(len(person.rich_last_names))) for person in people]
        if not names:
            authors = entry.fields.get("title", entry.key)
        elif len(names) == 1:
            authors = names[0]
        elif len(names) == 2:
            authors = f"{names[0]} and {names[1]}"
        else:
            authors = f"{names[0]} et al."
        return f"{authors}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(PlainStyle):
    """pybtex's plain style with author-year labels, sorted by author and year."""

    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


def theme_defaults(app, config):
    config.html_context.setdefault("default_mode", "auto")


def execution_mode_from_environment(app, config):
    mode = os.environ.get("BOOK_EXECUTE")
    if mode:
        if mode not in ("off", "force", "cache", "auto"):
            raise ValueError(f"BOOK_EXECUTE={mode!r}: use off, force, cache or auto")
        config.nb_execution_mode = mode
        logger.info("BOOK_EXECUTE=%s: notebook execution mode %s", mode, mode)


def setup(app):
    app.connect("config-inited", execution_mode_from_environment)
    app.connect("config-inited", theme_defaults)
    register_plugin("pybtex.style.formatting", "author_year_labels", AuthorYearStyle)
    app.add_post_transform(CleanNotebookHtml)
    app.add_post_transform(MarkChinese)
    app.connect("html-page-context", write_inline_scripts_once, priority=550)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
