"""The build cannot publish a stale or untested page, and the two commands set up a clean environment.

- The execution cache is keyed on every declared input, the Python version and
  the installed packages (unit tests of ``tools/build.py``), and a real rebuild
  in a copy of the repository shows a changed value of ``code/`` and a changed
  field of ``CITATION.cff`` on their pages.
- The deploy workflow publishes only a commit whose tests passed, and every
  workflow passes its interpreter to ``make`` explicitly.
- ``make`` rebuilds ``.venv`` from scratch when ``requirements.txt`` changes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


import build  # noqa: E402  (tools/ is on the test path, pytest.ini)


# --------------------------------------------------------------------------- cache key

@pytest.fixture
def small_book(tmp_path):
    (tmp_path / "code" / "pkg").mkdir(parents=True)
    (tmp_path / "code" / "pkg" / "values.py").write_text("THRESHOLD = 0.01\n")
    (tmp_path / "requirements.txt").write_text("numpy==2.4.6\n")
    (tmp_path / "CITATION.cff").write_text("version: 0.1.0\n")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "one.md").write_text("# One\n")
    return tmp_path


@pytest.mark.parametrize("path, new_text", [
    ("code/pkg/values.py", "THRESHOLD = 0.02\n"),
    ("requirements.txt", "numpy==2.4.5\n"),
    ("CITATION.cff", "version: 0.1.1\n"),
    ("code/pkg/new_module.py", "X = 1\n"),
])
def test_the_cache_key_changes_with_every_declared_input(small_book, path, new_text):
    before = build.inputs_hash(small_book)
    (small_book / path).write_text(new_text)
    assert build.inputs_hash(small_book) != before


def test_the_cache_key_ignores_chapter_text_and_bytecode(small_book):
    # jupyter-cache itself keys each notebook on its cells
    before = build.inputs_hash(small_book)
    (small_book / "chapters" / "one.md").write_text("# One, edited\n")
    (small_book / "code" / "pkg" / "__pycache__").mkdir()
    (small_book / "code" / "pkg" / "__pycache__" / "values.cpython-311.pyc").write_bytes(b"\0")
    assert build.inputs_hash(small_book) == before


def test_the_cache_key_changes_with_python_and_package_versions(small_book, monkeypatch):
    before = build.inputs_hash(small_book)
    real = build.environment_description()
    assert sys.version in real and re.search(r"^numpy==\S+$", real, re.M)
    monkeypatch.setattr(build, "environment_description", lambda: real.replace("numpy==", "numpy==0"))
    assert build.inputs_hash(small_book) != before


def test_every_repository_file_read_by_a_cell_is_declared():
    """A static look at the chapters: every path a cell opens is under EXECUTION_INPUTS."""
    opened = []
    for chapter in sorted((ROOT / "chapters").glob("*.md")):
        for path in re.findall(r"open\(\s*[\"']([^\"']+)[\"']", chapter.read_text()):
            opened.append((chapter.name, (chapter.parent / path).resolve().relative_to(ROOT)))
    assert opened, "the cite page reads CITATION.cff"
    for chapter, path in opened:
        assert path.parts[0] in build.EXECUTION_INPUTS, f"{chapter} opens {path}, which is not declared"


# --------------------------------------------------------------------------- a real rebuild

FRONT_MATTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""

PROBE = FRONT_MATTER + """
(probe)=
# Probe

```{code-cell} ipython3
from gradlab import diagnostics
print(f"sigmoid saturation threshold {diagnostics.SIGMOID_SATURATION}")
```
"""


def copy_of_repository(dest: Path) -> Path:
    """The files git tracks or would track, as they are in the working tree."""
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    # the Node tools are installed, not tracked: share this checkout's
    (dest / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    return dest


def run_build(book: Path, *options: str) -> subprocess.CompletedProcess:
    # The copy's own gradlab, ahead of the editable install of this checkout's.
    env = {**os.environ, "PYTHONPATH": str(book / "code"), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, str(book / "tools" / "build.py"), str(book), *options],
                          capture_output=True, text=True, env=env, timeout=900)


def page_text(book: Path, name: str) -> str:
    return (book / "_build" / "html" / "chapters" / f"{name}.html").read_text(encoding="utf-8")


@pytest.mark.book
def test_a_rebuild_shows_changed_code_and_citation_values(tmp_path):
    book = copy_of_repository(tmp_path / "book")
    (book / "_toc.yml").write_text("format: jb-book\nroot: chapters/cite\nchapters:\n  - file: chapters/probe\n")
    (book / "chapters" / "probe.md").write_text(PROBE)
    first = run_build(book)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    version = yaml.safe_load((book / "CITATION.cff").read_text())["version"]
    assert "threshold 0.01" in page_text(book, "probe")
    assert f"version = {{{version}}}" in page_text(book, "cite")

    values = book / "code" / "gradlab" / "diagnostics.py"
    values.write_text(values.read_text().replace("SIGMOID_SATURATION = 0.01", "SIGMOID_SATURATION = 0.0125"))
    cff = book / "CITATION.cff"
    cff.write_text(re.sub(r"^version: .*$", "version: 9.8.7", cff.read_text(), flags=re.M))
    second = run_build(book)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "clearing the execution cache" in second.stdout
    assert "threshold 0.0125" in page_text(book, "probe")
    assert "version = {9.8.7}" in page_text(book, "cite")
    assert f"version = {{{version}}}" not in page_text(book, "cite")

    # The student edition shares the execution cache: after another change it clears
    # and refills the cache, and the full book's next build still reads every page
    # again (its site is stale) without clearing the cache a second time.
    values.write_text(values.read_text().replace("SIGMOID_SATURATION = 0.0125", "SIGMOID_SATURATION = 0.015"))
    student = run_build(book, "--student")
    assert student.returncode == 0, student.stdout[-3000:] + student.stderr[-3000:]
    assert "clearing the execution cache" in student.stdout
    student_page = book / "_build" / "student" / "html" / "chapters" / "probe.html"
    assert "threshold 0.015" in student_page.read_text(encoding="utf-8")
    third = run_build(book)
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    assert "clearing the execution cache" not in third.stdout
    assert "threshold 0.015" in page_text(book, "probe")


MATH_PAGE = FRONT_MATTER + """
# {title}

{prose} The formula is ${tex}$, and below it is displayed:

$$
{tex}
$$
"""


@pytest.mark.book
def test_an_incremental_build_keeps_the_shared_files_of_pages_it_did_not_write(tmp_path):
    """The math font, the stylesheet bundles and the figures serve every page, written or not."""
    import mathml_prerender
    from fontTools.ttLib import TTFont

    book = copy_of_repository(tmp_path / "book")
    (book / "_toc.yml").write_text("format: jb-book\nroot: chapters/cite\nchapters:\n"
                                   "  - file: chapters/alpha\n  - file: chapters/beta\n")
    alpha, beta = book / "chapters" / "alpha.md", book / "chapters" / "beta.md"
    alpha.write_text(MATH_PAGE.format(title="Alpha", prose="First.", tex=r"\sqrt{\alpha} \le \Gamma"))
    beta.write_text(MATH_PAGE.format(title="Beta", prose="Second.", tex=r"\nabla \phi \ne \zeta"))
    html = book / "_build" / "html"

    def check():
        drawn = set()
        for page in sorted(html.glob("chapters/*.html")):
            text = page.read_text(encoding="utf-8")
            drawn |= set(mathml_prerender.math_characters(re.findall(r"<math.*?</math>", text, re.S)))
            sheets = re.findall(r'<link rel="stylesheet" type="text/css" href="([^"]+)" />', text)
            assert len(sheets) == 1 and (page.parent / sheets[0]).stat().st_size > 50_000, (page.name, sheets)
        with TTFont(html / "_static" / "math" / mathml_prerender.FONT_FILE) as font:
            missing = drawn - {chr(c) for c in font.getBestCmap()}
        assert "\u2207" in drawn and "\u221a" in drawn
        assert missing == set(), sorted(missing)

    first = run_build(book)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    check()
    alpha.write_text(alpha.read_text().replace("First.", "First, edited."))  # prose only
    second = run_build(book)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "First, edited." in page_text(book, "alpha")
    check()  # beta's characters (nabla, zeta) are still in the font


# --------------------------------------------------------------------------- workflows

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def jobs_of(path: Path) -> dict:
    return yaml.safe_load(path.read_text())["jobs"]


def runs_of(job: dict) -> list[str]:
    return [step["run"] for step in job.get("steps", []) if "run" in step]


def test_deploy_publishes_only_a_commit_whose_tests_passed():
    deploying = [p for p in WORKFLOWS if any(
        "deploy-pages" in step.get("uses", "") for job in jobs_of(p).values() for step in job.get("steps", []))]
    assert deploying, "a workflow deploys to GitHub Pages"
    for path in deploying:
        jobs = jobs_of(path)

        def ancestors(name):
            needs = jobs[name].get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            return set(needs).union(*(ancestors(n) for n in needs)) if needs else set()

        deploy = next(n for n, j in jobs.items() if any("deploy-pages" in s.get("uses", "") for s in j["steps"]))
        tested = [n for n in ancestors(deploy) if any(re.search(r"\bmake test\b", r) for r in runs_of(jobs[n]))]
        assert tested, f"{path.name}: the deploy job does not depend on a job that runs make test"


def test_every_workflow_passes_its_interpreter_to_make():
    calls = 0
    for path in WORKFLOWS:
        for name, job in jobs_of(path).items():
            setup = [s for s in job.get("steps", []) if "setup-python" in s.get("uses", "")]
            for run in runs_of(job):
                for call in re.findall(r"\bmake \w+[^\n]*", run):
                    calls += 1
                    assert setup, f"{path.name}/{name}: make without setup-python"
                    step_id = setup[0].get("id")
                    assert step_id and f"PYTHON=\"${{{{ steps.{step_id}.outputs.python-path }}}}\"" in call, \
                        f"{path.name}/{name}: {call!r} does not pass the set-up interpreter"
    assert calls >= 3


# --------------------------------------------------------------------------- the virtual environment

def test_make_rebuilds_the_venv_from_scratch_when_requirements_change(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "pyproject.toml").write_text("# stands in for the package metadata\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing to install\n")
    python = f"PYTHON={getattr(sys, '_base_executable', sys.executable)}"

    def make_venv():
        result = subprocess.run(["make", "-C", str(tmp_path), "venv", python],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    make_venv()
    # a package that a removed requirement left behind
    leftover = next((tmp_path / ".venv" / "lib").glob("python*/site-packages")) / "removed_dependency.py"
    leftover.write_text("")
    assert "creating" not in make_venv().stdout  # nothing changed: nothing is redone
    assert leftover.exists()
    stamp = tmp_path / ".venv" / ".requirements-installed"
    requirements.write_text("# nothing to install, edited\n")
    os.utime(requirements, (stamp.stat().st_mtime + 10,) * 2)
    assert "from scratch" in make_venv().stdout
    assert not leftover.exists()
    assert stamp.exists()


# --------------------------------------------------------------------------- the warnings ledger

BOOK = Path("/book")
LOG_FAILING = [
    "\x1b[01mreading sources... \x1b[39;49;00m[ 50%] \x1b[35mchapters/a\x1b[39;49;00m\n",
    "\x1b[01mreading sources... \x1b[39;49;00m[100%] \x1b[35mchapters/b\x1b[39;49;00m\n",
    "\x1b[91m/book/chapters/b.md:12: WARNING: undefined label: 'fig-x'\x1b[39;49;00m\n",
    "WARNING: a warning of no page\n",
]


def test_a_page_keeps_its_warnings_until_it_is_read_again(monkeypatch):
    monkeypatch.setattr(Path, "exists", lambda self: True)
    ledger = build.update_ledger({}, LOG_FAILING, BOOK, full=True)
    assert ledger == {"chapters/b": ["/book/chapters/b.md:12: WARNING: undefined label: 'fig-x'"],
                      build.GLOBAL: ["WARNING: a warning of no page"]}
    # an incremental build that reads only chapters/a: b keeps its warning, the global one goes
    quiet = ["reading sources... [100%] chapters/a\n"]
    assert build.update_ledger(ledger, quiet, BOOK, full=False) == {"chapters/b": ledger["chapters/b"]}
    # once b is read again without a warning, the ledger is empty
    assert build.update_ledger(ledger, ["writing output... [100%] chapters/b\n"], BOOK, full=False) == {}


def test_a_warning_from_an_included_file_belongs_to_the_including_page(monkeypatch):
    # chapters/a includes part of chapters/b; reading a reports b's lines
    monkeypatch.setattr(Path, "exists", lambda self: True)
    log = ["reading sources... [100%] chapters/a\n",
           "/book/chapters/b.md:939: WARNING: Pygments lexer name '{code-' is not known\n"]
    ledger = build.update_ledger({}, log, BOOK, full=True)
    assert list(ledger) == ["chapters/a"]
    # a is fixed and read again; b was never read: nothing is left
    assert build.update_ledger(ledger, ["reading sources... [100%] chapters/a\n"], BOOK, full=False) == {}


def test_a_deleted_page_leaves_the_ledger(monkeypatch):
    monkeypatch.setattr(Path, "exists", lambda self: False)
    assert build.update_ledger({"chapters/gone": ["w"]}, [], BOOK, full=False) == {}


def test_warning_locations_name_their_page():
    assert build.docname_of("/book/chapters/a.md:3", BOOK) == "chapters/a"
    assert build.docname_of("/book/code/gradlab/book.py:docstring of gradlab.book.glue:10", BOOK) == build.GLOBAL
    assert build.docname_of(None, BOOK) == build.GLOBAL
