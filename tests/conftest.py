"""Shared fixtures: the book is built once per test session, from scratch, and served.

Two clean builds run side by side (one for the book tests, one more to prove the
build reproducible) into temporary folders, each with an empty execution cache.
The ``site`` fixture serves the first one on 127.0.0.1 as GitHub Pages serves the
published book: under the path of its address, gzip-compressed, with its 404 page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import site_audit  # tools/ is on the test path (pytest.ini)

ROOT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = ROOT / "tools" / "build.py"


@dataclass
class BookBuild:
    """One build of the book: where it went, how it ended and what it printed."""

    out: Path
    returncode: int
    log: str

    @property
    def html(self) -> Path:
        return self.out / "_build" / "html"


def start_build(book: Path, out: Path, log_path: Path) -> subprocess.Popen:
    """Start ``tools/build.py --fresh`` for ``book`` into ``out``; output to a log."""
    out.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:  # the child keeps its own copy of the handle
        return subprocess.Popen(
            [sys.executable, str(BUILD_SCRIPT), str(book), "--fresh", "--path-output", str(out)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )


def finish_build(proc: subprocess.Popen, out: Path, log_path: Path) -> BookBuild:
    proc.wait()
    return BookBuild(out=out, returncode=proc.returncode, log=log_path.read_text(errors="replace"))


@pytest.fixture(scope="session")
def book_builds(tmp_path_factory) -> tuple[BookBuild, BookBuild]:
    """Two independent clean builds of this repository's book."""
    base = tmp_path_factory.mktemp("book")
    runs = []
    for name in ("first", "second"):
        out, log = base / name, base / f"{name}.log"
        runs.append((start_build(ROOT, out, log), out, log))
    return tuple(finish_build(*run) for run in runs)


@pytest.fixture(scope="session")
def built_book(book_builds) -> BookBuild:
    """The book built from scratch; fails every dependent test if the build failed."""
    build = book_builds[0]
    if build.returncode != 0:
        tail = "\n".join(build.log.splitlines()[-60:])
        pytest.fail(f"the strict book build failed (exit {build.returncode}):\n{tail}")
    return build


@pytest.fixture(scope="session")
def site(built_book):
    """The address of the built book, served as GitHub Pages serves it."""
    server = site_audit.serve(built_book.html)
    yield server.url
    server.close()


@pytest.fixture(scope="session")
def student_book(built_book, tmp_path_factory) -> Path:
    """The student edition, built with ``--student`` from the first build's cache."""
    log_path = tmp_path_factory.mktemp("student") / "student.log"
    with open(log_path, "w") as log:
        returncode = subprocess.run(
            [sys.executable, str(BUILD_SCRIPT), str(ROOT), "--student",
             "--path-output", str(built_book.out)],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"},
        ).returncode
    if returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-60:])
        pytest.fail(f"the student edition failed to build (exit {returncode}):\n{tail}")
    return built_book.out / "_build" / "student" / "html"


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright, one for the whole session (skipped without it, except in CI)."""
    if not Path(site_audit.CHROMIUM).exists():
        message = ("Chromium is not installed: `sudo apt-get install chromium` (Debian/Ubuntu) "
                   "runs the browser tests; Playwright's own browser downloads are not used")
        if os.environ.get("GRADLAB_REQUIRE_BROWSER") == "1":  # CI (.ci/run)
            pytest.fail(message)
        pytest.skip(message)
    if not site_audit.AXE.exists():
        pytest.fail("axe-core is missing: run `make node` (npm ci)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=site_audit.CHROMIUM, args=site_audit.FLAGS)
        yield chromium
        chromium.close()
