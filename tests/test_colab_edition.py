"""The Colab edition (colab/NN_name.ipynb) is current and reads well without MyST.

Jupyter and Colab render Markdown cells with a plain Markdown renderer; these
tests render every cell of the edition the same way (markdown-it-py,
CommonMark) and fail on MyST syntax left raw or on a solution in plain view.
Where the solutions are is read from the chapters themselves, independently
of the generator (_ext/colab_edition.py).
"""
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
import colab_edition  # noqa: E402

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
EDITION = ROOT / "colab"
RENDER = MarkdownIt("commonmark")

RAW_MYST = [
    (re.compile(r'<code class="language-\{'), "a directive fence shown as code"),
    (re.compile(r"\{[\w:-]+\}<code>|\{[\w:-]+\}`"), "a role shown as raw text"),
    (re.compile(r"^\s*(<p>)?:(label|class|nonumber):", re.M), "a directive option shown as text"),
    (re.compile(r"^\s*(<p>)?\([\w-]+\)=", re.M), "a (label)= target shown as text"),
]


def solution_parts(path):
    """Cells of a chapter that belong to solutions: {markdown cell id: [solution lines]}, {code ids}."""
    nb = nbformat.read(path, as_version=4)
    markdown, code, gated = {}, set(), False
    for cell in nb.cells:
        if cell.cell_type == "code":
            if gated:
                code.add(cell.id)
            continue
        lines, inside = [], None
        for line in cell.source.splitlines():
            opening = re.match(r"^(`{3,})\{(solution|solution-start|solution-end)\}", line)
            if opening and opening[2] == "solution":
                inside = opening[1]
                continue
            if opening and opening[2] == "solution-start":
                gated = True
                continue
            if opening and opening[2] == "solution-end":
                gated = False
                continue
            if inside and line.strip() == inside:
                inside = None
                continue
            if (inside or gated) and len(line.strip()) > 20 and not line.startswith((":", "`")):
                lines.append(line.strip())
        if lines:
            markdown[cell.id] = lines
    return markdown, code


class DetailsDepth(HTMLParser):
    """Text outside <details>, and whether each fold has a summary and closes."""

    def __init__(self):
        super().__init__()
        self.depth, self.outside, self.summaries, self.folds = 0, [], 0, 0

    def handle_starttag(self, tag, attrs):
        if tag == "details":
            self.depth += 1
            self.folds += 1
        elif tag == "summary" and self.depth:
            self.summaries += 1

    def handle_endtag(self, tag):
        if tag == "details":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth == 0:
            self.outside.append(data)


def edition_of(path):
    return nbformat.read(EDITION / path.name, as_version=4)


def test_the_committed_edition_is_current():
    edition = colab_edition.Edition(CHAPTERS)
    stale = [path.name for path in CHAPTERS
             if not (EDITION / path.name).exists()
             or (EDITION / path.name).read_text(encoding="utf-8") != edition.text(path)]
    extra = sorted({p.name for p in EDITION.glob("*.ipynb")} - {p.name for p in CHAPTERS})
    assert not stale and not extra, (
        f"Colab edition out of date for {stale}, without a chapter: {extra}; run `make colab`")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_markdown_renders_without_myst_syntax(path):
    problems = []
    for number, cell in enumerate(edition_of(path).cells):
        if cell.cell_type != "markdown":
            continue
        html = RENDER.render(cell.source)
        problems += [f"cell {number}: {what}: {match.group(0)!r}"
                     for pattern, what in RAW_MYST for match in [pattern.search(html)] if match]
    assert not problems, f"colab/{path.name} shows raw MyST: {problems}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_solution_is_folded(path):
    solution_markdown, solution_code = solution_parts(path)
    assert solution_markdown, f"{path.name}: no solutions found (exercises need worked solutions)"
    cells = {cell.id: cell for cell in edition_of(path).cells}
    problems = []
    for cell_id, lines in solution_markdown.items():
        if cell_id not in cells:
            problems.append(f"solution cell {cell_id} missing")
            continue
        parser = DetailsDepth()
        parser.feed(RENDER.render(cells[cell_id].source))
        if parser.depth != 0 or parser.summaries != parser.folds:
            problems.append(f"cell {cell_id}: unbalanced <details> or one without <summary>")
        outside = " ".join(" ".join(parser.outside).split())
        source_outside = re.sub(r"<details>.*?</details>", "", cells[cell_id].source, flags=re.S)
        shown = [line for line in lines if line in source_outside]
        if shown or not parser.folds:
            problems.append(f"cell {cell_id}: solution text outside <details>: {shown[:1] or outside[:80]}")
    for cell_id in solution_code:
        cell = cells[cell_id]
        hidden = (cell.metadata.get("cellView") == "form"
                  and cell.metadata.get("jupyter", {}).get("source_hidden") is True)
        if cell.outputs or not hidden or not cell.source.startswith("#@title"):
            problems.append(f"solution code cell {cell_id}: shown or with outputs")
    assert not problems, f"colab/{path.name}: {problems}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_edition_keeps_every_code_cell_and_the_setup(path):
    chapter, edition = nbformat.read(path, as_version=4), edition_of(path)
    chapter_code = [cell.id for cell in chapter.cells if cell.cell_type == "code"]
    assert [cell.id for cell in edition.cells if cell.cell_type == "code"] == chapter_code
    assert next(c for c in edition.cells if c.cell_type == "code").source == \
        next(c for c in chapter.cells if c.cell_type == "code").source


def convert(markdown):
    """Colab Markdown for one cell of a throwaway chapter."""
    edition = colab_edition.Edition([])
    return edition.convert_cell(markdown, {"exercise": 0, "gated": None, "gated_pieces": 0},
                                "test cell", "99_test")


@pytest.mark.parametrize("markdown, named", [
    ("```{figure} plot.png\n:name: fig\n```", "{figure}"),
    ("See {eq}`my-equation`.", "{eq}"),
    ("```{exercise} Title\n:label: x\n:hidden:\n\nText\n```", "hidden"),
    ("```{solution} nowhere\n:class: dropdown\n\nText\n```", "nowhere"),
    ("```{exercise} Title\n:label: x\n\nText\n", "never closed"),
])
def test_unknown_syntax_fails_loudly(markdown, named):
    with pytest.raises(colab_edition.UnknownSyntax, match=re.escape(named)):
        convert(markdown)


def test_citation_reads_author_year_with_a_link():
    [(solution, _, text)] = convert("As {cite}`robbins1951` and {cite:t}`kingma2015` showed.")
    assert not solution
    assert "[[Robbins and Monro, 1951](https://doi.org/10.1214/aoms/1177729586)]" in text
    assert "Kingma and Ba [2015](https://arxiv.org/abs/1412.6980)" in text
