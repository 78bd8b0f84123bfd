"""The Colab edition: each chapter rewritten for plain Markdown renderers.

Jupyter and Colab render Markdown cells without MyST, so a chapter's
``{exercise}`` and ``{solution}`` blocks would show as raw code fences, with
every solution in view, and roles such as ``{cite}`` as raw text. The chapters
stay the single source; this module writes ``colab/NN_name.ipynb`` from
``chapters/NN_name.ipynb``:

- an exercise becomes a bold heading "Exercise 2.3 (title)" followed by its text;
- a solution (``{solution}``, or ``{solution-start}`` ... ``{solution-end}``
  around code cells) is folded in HTML ``<details>``, one fold per Markdown
  cell; its code cells are hidden (Colab's form view, Jupyter's
  ``source_hidden``) and lose their stored outputs, so nothing gives the
  answer away before the learner opens or runs it;
- admonitions become block quotes with a bold title;
- ``{cite}`` becomes "[Author, Year]" linked to the work, ``{doc}`` a link to
  the other chapter's Colab edition (or to the page's source on GitHub),
  ``{ref}``/``{numref}`` the referenced exercise or section title, ``{term}``
  its text; ``(label)=`` targets are dropped.

Any other directive or role raises an error naming the chapter and cell: teach
this module about it before using it in a chapter.

Run ``python _ext/colab_edition.py`` (``make colab``) after changing a chapter;
``tests/test_colab_edition.py`` fails when the committed edition is stale.
As a Sphinx extension it points the book's Colab launch button at the edition.
"""
import copy
import itertools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml
from pybtex.database import parse_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from offline_book import AuthorYearLabels  # noqa: E402  (one author-year label for book and Colab)

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_DIR = ROOT / "chapters"
EDITION_DIR = ROOT / "colab"
CHAPTER_PATTERN = "[0-9][0-9]_*.ipynb"

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"].get("branch", "main")
COLAB_URL = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
GITHUB_PATH = REPO_URL.split("github.com/", 1)[1]

ADMONITIONS = {"note", "tip", "hint", "important", "warning", "caution", "attention",
               "danger", "error", "seealso"}
EXERCISE_OPTIONS = {"label", "class", "nonumber"}
FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<argument>.*)$")
CODE_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})")
OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
TARGET = re.compile(r"^\((?P<label>[\w-]+)\)=[ \t]*$")
ROLE = re.compile(r"\{(?P<name>[\w:-]+)\}`(?P<text>[^`]*)`")
ROLE_OR_CODE = re.compile(ROLE.pattern + r"|`[^`]*`")
EXPLICIT_TITLE = re.compile(r"^(?P<title>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$", re.M)
PY_ROLES = re.compile(r"^(py:)?(func|class|meth|mod|attr|obj|data|exc)$")

SOLUTION_NOTE = "#@title Solution: run this cell, or double-click to read the code"


class UnknownSyntax(ValueError):
    """A directive, role or option the Colab edition does not know how to write."""


def colab_link(path):
    """The Colab URL of a repository file, e.g. colab/02_gradient_descent.ipynb."""
    return f"{COLAB_URL}/github/{GITHUB_PATH}/blob/{BRANCH}/{path}"


def chapter_paths():
    return sorted(CHAPTER_DIR.glob(CHAPTER_PATTERN))


def toc_chapter_numbers():
    """Chapter file stem -> its number in the book (numbered parts, in reading order)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    numbers, count = {}, 0
    for part in toc.get("parts", []):
        for entry in part.get("chapters", []):
            if part.get("numbered"):
                count += 1
                numbers[Path(entry["file"]).name] = count
    return numbers


@dataclass
class Target:
    """What a label names: "Exercise 1.3 (title)" or a section title, in one chapter."""
    text: str
    chapter: str


class Bibliography:
    """Citation keys of chapters/references.bib as "Author, Year" with a link."""

    def __init__(self, path=CHAPTER_DIR / "references.bib"):
        self.entries = parse_file(str(path), bib_format="bibtex").entries
        self.labels = AuthorYearLabels()

    def entry(self, key, where):
        if key not in self.entries:
            raise UnknownSyntax(f"{where}: no entry {key!r} in references.bib")
        return self.entries[key]

    def link(self, entry):
        fields = entry.fields
        if "doi" in fields:
            return f"https://doi.org/{fields['doi']}"
        if "url" in fields:
            return fields["url"]
        if "eprint" in fields:
            return f"https://arxiv.org/abs/{fields['eprint']}"
        return None

    def cite(self, keys, textual, where):
        pieces = []
        for key in (k.strip() for k in keys.split(",")):
            entry = self.entry(key, where)
            authors, year = self.labels.format_label(entry).rsplit(", ", 1)
            link = self.link(entry)
            if textual:
                pieces.append(f"{authors} [{year}]({link})" if link else f"{authors} [{year}]")
            else:
                label = f"{authors}, {year}"
                pieces.append(f"[{label}]({link})" if link else label)
        return "; ".join(pieces) if textual else "[" + "; ".join(pieces) + "]"


def first_heading(path):
    """The title of a chapter notebook or Markdown page (its first heading)."""
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    match = HEADING.search(text)
    return match.group(2) if match else path.stem


class Edition:
    """Converts the chapters; labels are collected from all of them first."""

    def __init__(self, chapters=None):
        self.chapters = chapter_paths() if chapters is None else list(chapters)
        self.numbers = toc_chapter_numbers()
        self.bibliography = Bibliography()
        self.targets = {}
        for path in self.chapters:
            self.collect_targets(path)

    # ------------------------------------------------------------ labels
    def collect_targets(self, path):
        nb = nbformat.read(path, as_version=4)
        number = self.numbers.get(path.stem)
        exercise = 0
        pending_label = None
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for line_number, line in enumerate(cell.source.splitlines()):
                fence = FENCE.match(line)
                if fence and fence["name"] in ("exercise", "exercise-start"):
                    options = self.options_after(cell.source.splitlines(), line_number)
                    if "nonumber" not in options:
                        exercise += 1
                    title = self.exercise_title(number, exercise, fence["argument"], options)
                    if "label" in options:
                        self.targets[options["label"]] = Target(title, path.stem)
                target = TARGET.match(line)
                if target:
                    pending_label = target["label"]
                    continue
                heading = HEADING.match(line)
                if heading and pending_label:
                    self.targets[pending_label] = Target(heading.group(2), path.stem)
                if line.strip():
                    pending_label = None

    @staticmethod
    def options_after(lines, index):
        options = {}
        for line in lines[index + 1:]:
            option = OPTION.match(line)
            if not option:
                break
            options[option["key"]] = option["value"].strip()
        return options

    @staticmethod
    def exercise_title(chapter_number, exercise_number, title, options):
        name = "Exercise" if "nonumber" in options or chapter_number is None \
            else f"Exercise {chapter_number}.{exercise_number}"
        return f"{name} ({title.strip()})" if title.strip() else name

    # ------------------------------------------------------------ roles
    def role(self, match, where, chapter):
        name, text = match["name"], match["text"]
        explicit = EXPLICIT_TITLE.match(text)
        title, target = (explicit["title"], explicit["target"]) if explicit else (None, text)
        if name in ("cite", "cite:p", "cite:t"):
            return self.bibliography.cite(text, textual=name == "cite:t", where=where)
        if name == "doc":
            return self.doc_link(title, target.strip(), where)
        if name in ("ref", "numref"):
            if target not in self.targets:
                raise UnknownSyntax(f"{where}: {{{name}}} to unknown label {target!r}")
            found = self.targets[target]
            text = title or (found.text.split(" (")[0] if name == "numref" else found.text)
            if found.chapter != chapter:
                return f"[{text}]({colab_link(f'colab/{found.chapter}.ipynb')})"
            return text
        if name == "term":
            return title or target
        if name == "math":
            return f"${text}$"
        if PY_ROLES.match(name):
            return f"`{title or target}`"
        raise UnknownSyntax(f"{where}: unknown role {{{name}}}")

    def doc_link(self, title, target, where):
        stem = Path(target).name
        for suffix in (".ipynb", ".md"):
            path = CHAPTER_DIR / (stem + suffix)
            if path.exists():
                break
        else:
            raise UnknownSyntax(f"{where}: {{doc}} to unknown page {target!r}")
        if path in self.chapters:
            url = colab_link(f"colab/{path.name}")
        else:
            url = f"{REPO_URL}/blob/{BRANCH}/{path.relative_to(ROOT).as_posix()}"
        return f"[{title or first_heading(path)}]({url})"

    def roles(self, text, where, chapter):
        """Rewrite roles in prose, leaving code fences and inline code alone."""
        segments, prose, code, in_code = [], [], [], None
        for line in text.split("\n"):
            fence = CODE_FENCE.match(line.strip())
            if in_code is None and fence:
                in_code = fence["fence"]
                segments.append(("prose", prose))
                prose, code = [], [line]
            elif in_code is not None:
                code.append(line)
                if fence and fence["fence"][0] == in_code[0] and len(fence["fence"]) >= len(in_code) \
                        and line.strip() == fence["fence"]:
                    segments.append(("code", code))
                    in_code, code = None, []
            else:
                prose.append(line)
        segments += [("prose", prose), ("code", code)]
        out = []
        for kind, lines in segments:
            block = "\n".join(lines)
            if kind == "prose":
                block = ROLE_OR_CODE.sub(
                    lambda m: self.role(m, where, chapter) if m["name"] else m.group(0), block)
            out.append(block)
        return "\n".join(part for part in out if part)

    # ------------------------------------------------------------ directives
    def blocks(self, text, where):
        """Split Markdown into prose and top-level directive blocks.

        Yields ("text", str) and ("directive", name, argument, options, body).
        """
        lines = text.split("\n")
        prose, i = [], 0
        while i < len(lines):
            fence = FENCE.match(lines[i])
            if not fence:
                prose.append(lines[i])
                i += 1
                continue
            if prose:
                yield ("text", "\n".join(prose))
                prose = []
            char, length = fence["fence"][0], len(fence["fence"])
            j = i + 1
            while j < len(lines):
                closing = lines[j].strip()
                if closing and set(closing) == {char} and len(closing) >= length:
                    break
                j += 1
            else:
                raise UnknownSyntax(f"{where}: {{{fence['name']}}} is never closed")
            body = lines[i + 1:j]
            options = {}
            while body and OPTION.match(body[0]):
                option = OPTION.match(body.pop(0))
                options[option["key"]] = option["value"].strip()
            yield ("directive", fence["name"], fence["argument"].strip(), options,
                   "\n".join(body).strip("\n"))
            i = j + 1
        if prose:
            yield ("text", "\n".join(prose))

    def convert_cell(self, text, state, where, chapter):
        """Markdown of one cell -> list of (solution label or None, summary, markdown) pieces."""
        pieces = []

        def add(markdown, solution=None, summary=None):
            markdown = markdown.strip("\n")
            if markdown.strip():
                pieces.append((solution, summary, markdown))

        for block in self.blocks(text, where):
            if block[0] == "text":
                body = "\n".join(line for line in block[1].split("\n") if not TARGET.match(line))
                add(self.roles(body, where, chapter), solution=state["gated"],
                    summary=state["gated"] and self.continued(state))
                continue
            _, name, argument, options, body = block
            if name in ("exercise", "exercise-start"):
                self.check_options(name, options, EXERCISE_OPTIONS, where)
                state["exercise"] += "nonumber" not in options
                title = self.exercise_title(self.numbers.get(chapter), state["exercise"],
                                            argument, options)
                content = self.convert_nested(body, where, chapter)
                add(f"**{title}**" + (f"\n\n{content}" if content else ""))
            elif name == "exercise-end":
                pass
            elif name == "solution":
                self.check_options(name, options, {"class", "label"}, where)
                add(self.convert_nested(body, where, chapter), solution=argument,
                    summary=self.solution_summary(argument, where))
            elif name == "solution-start":
                self.check_options(name, options, {"class", "label"}, where)
                if state["gated"] is not None:
                    raise UnknownSyntax(f"{where}: solution-start inside another solution")
                state["gated"], state["gated_pieces"] = argument, 0
                if body.strip():
                    add(self.convert_nested(body, where, chapter), solution=argument,
                        summary=self.continued(state))
            elif name == "solution-end":
                if state["gated"] is None:
                    raise UnknownSyntax(f"{where}: solution-end without solution-start")
                state["gated"] = None
            elif name == "admonition" or name in ADMONITIONS:
                title = argument if name == "admonition" else name.capitalize()
                content = body if name == "admonition" else "\n\n".join(
                    part for part in (argument, body) if part)
                content = self.convert_nested(content, where, chapter)
                quoted = "\n".join(">" + (" " + line if line else "") for line in
                                   [f"**{title}**", ""] + content.split("\n"))
                add(quoted, solution=state["gated"],
                    summary=state["gated"] and self.continued(state))
            elif name == "math":
                add(f"$$\n{body}\n$$", solution=state["gated"],
                    summary=state["gated"] and self.continued(state))
            else:
                raise UnknownSyntax(f"{where}: unknown directive {{{name}}}")
        return pieces

    def convert_nested(self, text, where, chapter):
        nested = {"exercise": 0, "gated": None, "gated_pieces": 0}
        pieces = self.convert_cell(text, nested, where, chapter)
        if nested["gated"] is not None or any(solution for solution, _, _ in pieces):
            raise UnknownSyntax(f"{where}: a solution nested in another directive")
        return "\n\n".join(markdown for _, _, markdown in pieces)

    def continued(self, state):
        state["gated_pieces"] += 1
        summary = self.solution_summary(state["gated"], "gated solution")
        return summary if state["gated_pieces"] == 1 else f"{summary}, continued"

    def solution_summary(self, label, where):
        if label not in self.targets:
            raise UnknownSyntax(f"{where}: solution to unknown exercise {label!r}")
        return f"Solution to {self.targets[label].text}"

    @staticmethod
    def check_options(name, options, allowed, where):
        unknown = set(options) - allowed
        if unknown:
            raise UnknownSyntax(f"{where}: {{{name}}} has unknown options {sorted(unknown)}")

    # ------------------------------------------------------------ notebooks
    @staticmethod
    def fold(summary, markdown):
        return (f"<details>\n<summary><b>{summary}</b> (open it after trying the exercise)"
                f"</summary>\n\n{markdown}\n\n</details>")

    def join(self, pieces):
        """One cell's Markdown: consecutive pieces of one solution share one fold."""
        chunks = []
        for solution, group in itertools.groupby(pieces, key=lambda piece: piece[0]):
            group = list(group)
            markdown = "\n\n".join(markdown for _, _, markdown in group)
            chunks.append(self.fold(group[0][1], markdown) if solution else markdown)
        return "\n\n".join(chunks)

    def notebook(self, path):
        """The Colab edition of one chapter, as a notebook node."""
        source = nbformat.read(path, as_version=4)
        nb = copy.deepcopy(source)
        nb.metadata.pop("widgets", None)
        nb.metadata["colab"] = {"name": path.name, "toc_visible": True}
        nb.metadata["colab_edition"] = {
            "source": path.relative_to(ROOT).as_posix(),
            "note": "Generated by _ext/colab_edition.py (make colab): edit the source, not this file."}
        state = {"exercise": 0, "gated": None, "gated_pieces": 0}
        cells = []
        for number, cell in enumerate(source.cells):
            where = f"{path.name}, cell {number}"
            cell = copy.deepcopy(cell)
            if cell.cell_type == "markdown":
                pieces = self.convert_cell(cell.source, state, where, path.stem)
                if not pieces:
                    continue
                cell.source = self.join(pieces)
            elif cell.cell_type == "code":
                if state["gated"] is not None:
                    cell.source = f"{SOLUTION_NOTE}\n{cell.source}"
                    cell.metadata["cellView"] = "form"
                    cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
                    cell.outputs, cell.execution_count = [], None
                elif "remove-output" in cell.metadata.get("tags", []):
                    cell.outputs, cell.execution_count = [], None
            cells.append(cell)
        if state["gated"] is not None:
            raise UnknownSyntax(f"{path.name}: solution-start {state['gated']!r} is never ended")
        nb.cells = cells
        return nb

    def text(self, path):
        return nbformat.writes(self.notebook(path)) + "\n"

    def write(self, folder=EDITION_DIR):
        folder.mkdir(exist_ok=True)
        written = []
        for path in self.chapters:
            target = folder / path.name
            target.write_text(self.text(path), encoding="utf-8")
            written.append(target)
        for stale in set(folder.glob(CHAPTER_PATTERN)) - set(written):
            stale.unlink()
        return written


# ---------------------------------------------------------------- Sphinx
def colab_button_opens_the_edition(app, pagename, templatename, context, doctree):
    """Rewrite the launch button's Colab URL from chapters/NN.ipynb to colab/NN.ipynb."""
    chapter = f"/blob/{BRANCH}/{pagename}.ipynb"

    def rewrite(buttons):
        for button in buttons:
            rewrite(button.get("buttons", []))
            url = button.get("url", "")
            if url.startswith(COLAB_URL) and url.endswith(chapter):
                name = Path(pagename).name + ".ipynb"
                if not (EDITION_DIR / name).exists():
                    from sphinx.util import logging
                    logging.getLogger(__name__).warning(
                        "no Colab edition colab/%s: run `make colab`", name, location=pagename)
                button["url"] = colab_link(f"colab/{name}")

    rewrite(context.get("header_buttons", []))


def setup(app):
    app.connect("html-page-context", colab_button_opens_the_edition, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    for written in Edition().write():
        print(written.relative_to(ROOT))
