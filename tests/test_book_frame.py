"""Checks on the book's frame: table of contents, chapter notebooks, set-up cell.

These run in a second and catch what the slow strict build would only catch
late (or, for files left out of _toc.yml, never).
"""
import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
REPO_URL = CONFIG["repository"]["url"]
CHAPTER_NOTEBOOKS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def toc_files():
    """Every `file:` entry of _toc.yml, root first, in reading order."""
    files = [TOC["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in TOC.get("parts", []):
        walk(part.get("chapters", []))
    walk(TOC.get("chapters", []))
    return files


def source_of(entry):
    """The .ipynb or .md file a toc entry names (None when neither exists)."""
    for suffix in (".ipynb", ".md"):
        path = ROOT / (entry + suffix)
        if path.exists():
            return path
    return None


def first_code_cell(path):
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code cell"
    return code[0].source


def test_there_are_chapter_notebooks():
    assert CHAPTER_NOTEBOOKS, "no chapters/NN_*.ipynb found"


@pytest.mark.parametrize("entry", toc_files())
def test_every_toc_entry_exists(entry):
    assert source_of(entry) is not None, f"_toc.yml lists {entry!r}, but neither .ipynb nor .md exists"


def test_toc_has_no_duplicates():
    files = toc_files()
    assert len(files) == len(set(files)), f"duplicate entries in _toc.yml: {files}"


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=lambda p: p.name)
def test_every_chapter_notebook_is_in_the_toc(path):
    # only_build_toc_files: true would silently leave it out of the book
    listed = {source_of(entry) for entry in toc_files()}
    assert path in listed, f"{path.name} is not listed in _toc.yml"


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=lambda p: p.name)
def test_kernelspec_is_python3(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_installs_gdcore_from_the_repository_only_in_colab(path):
    source = first_code_cell(path)
    installs = re.findall(r'!pip install -q "gdcore @ git\+(\S+)"', source)
    assert installs == [REPO_URL], (
        f"{path.name}: the first code cell must run "
        f'!pip install -q "gdcore @ git+{REPO_URL}" (found {installs})'
    )
    # %pip prints "you may need to restart the kernel"; gdcore is new to the
    # kernel, so no restart is needed and the note would only confuse.
    assert "%pip" not in source, f"{path.name}: install with `!pip install -q`, not %pip"
    lines = source.splitlines()
    pip_line = next(i for i, line in enumerate(lines) if "!pip install" in line)
    assert pip_line > 0 and lines[pip_line - 1].startswith('if "google.colab" in sys.modules:'), (
        f"{path.name}: the install must be guarded by `if \"google.colab\" in sys.modules:`"
    )
    assert lines[pip_line].startswith("    "), f"{path.name}: the !pip line must be indented under the if"


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=lambda p: p.name)
def test_no_stored_widget_state(path):
    # Stored widget state makes the book load require.js and the widget
    # html-manager from a CDN (render-blocking, and nothing to draw: live
    # explorers need a kernel). `make execute` stores none.
    nb = nbformat.read(path, as_version=4)
    assert "widgets" not in nb.metadata, (
        f"{path.name}: delete metadata.widgets (stored widget state); `make execute` no longer "
        f"stores it (store_widget_state=False)"
    )


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_imports_gdcore_and_picks_the_device(path):
    source = first_code_cell(path)
    for line in ("import sys", "import numpy as np", "import matplotlib.pyplot as plt",
                 "import gdcore as gd"):
        assert line in source.splitlines(), f"{path.name}: setup cell lacks `{line}`"
    assert re.search(r"^device = gd\.pick_device\(\)", source, flags=re.M), (
        f"{path.name}: setup cell lacks `device = gd.pick_device()`"
    )


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_come_from_one_clean_run(path):
    # nbval compares against the stored outputs: they must come from
    # executing the notebook top to bottom in a fresh kernel (make execute).
    nb = nbformat.read(path, as_version=4)
    counts = [cell.execution_count for cell in nb.cells
              if cell.cell_type == "code" and cell.source.strip()]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts}; run `make execute`"
    )
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert first.outputs == [], f"{path.name}: the setup cell must print nothing"


def ends_with_silenced_expression(source):
    """True when the cell's last statement is an expression hidden by a trailing `;`."""
    lines = ["pass" if line.lstrip().startswith(("%", "!")) else line
             for line in source.splitlines()]
    code = "\n".join(lines)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return False
    significant = [line.split("#")[0].rstrip() for line in lines]
    significant = [line for line in significant if line]
    return bool(significant) and significant[-1].endswith(";")


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=lambda p: p.name)
def test_no_output_is_hidden_by_a_trailing_semicolon(path):
    # nbval runs cells with store_history=False, and IPython then ignores a
    # trailing ";": the hidden repr reappears and the comparison fails
    # (nbval issue #194). End the cell with plt.show() or assign the value.
    nb = nbformat.read(path, as_version=4)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    bad = [
        f"Cell {number}: {cell.source.strip().splitlines()[-1][:60]}"
        for number, cell in enumerate(code_cells)  # numbered as nbval reports them
        if not {"nbval-ignore-output", "nbval-skip"} & set(cell.metadata.get("tags", []))
        and ends_with_silenced_expression(cell.source)
    ]
    assert not bad, (
        f"{path.name}: these cells hide a value with a trailing `;`, which nbval does not honour; "
        f"end them with plt.show() or assign the value (`_ = ...`): {bad}"
    )


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=lambda p: p.name)
def test_live_widget_cells_are_tagged_for_nbval_and_the_build(path):
    # Widget ids are random (nbval must ignore the output), the static page
    # cannot run callbacks (remove the output there), and the build's executor
    # can stall on widget cells (jupyter/nbclient#312), so it skips them.
    needed = {"nbval-ignore-output", "remove-output", "skip-execution"}
    nb = nbformat.read(path, as_version=4)
    bad = [f"Cell {number}: {sorted(needed - set(cell.metadata.get('tags', [])))}"
           for number, cell in enumerate(c for c in nb.cells if c.cell_type == "code")
           if "gd.widgets." in cell.source
           and not needed <= set(cell.metadata.get("tags", []))]
    assert not bad, f"{path.name}: live-widget cells lack tags: {bad}"


def test_build_executes_every_notebook_strictly():
    execute = CONFIG["execute"]
    assert execute["execute_notebooks"] in ("force", "cache")
    assert execute["allow_errors"] is False
    assert 0 < execute["timeout"] <= 600


def test_parse_section_holds_only_options_jupyter_book_reads():
    # Jupyter Book 1 copies only these keys from `parse:`; anything else there
    # (myst_dmath_double_inline, for one) is silently ignored: put it under
    # sphinx: config: instead.
    read = {"myst_enable_extensions", "myst_extended_syntax", "myst_substitutions",
            "myst_url_schemes"}
    ignored = set(CONFIG.get("parse", {})) - read
    assert not ignored, f"_config.yml parse: {sorted(ignored)} would be ignored; move to sphinx: config:"


def test_maths_and_pages_load_nothing_remote():
    sphinx_config = CONFIG["sphinx"]["config"]
    assert "://" not in sphinx_config["mathjax_path"], "MathJax must come from the book's _static"
    assert sphinx_config["nb_ipywidgets_js"] == {}, "no ipywidgets loader scripts (require.js, CDN)"
    assert "offline_book" in CONFIG["sphinx"]["local_extensions"]
