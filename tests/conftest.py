"""Shared fixtures: the book is built once per test session, from scratch, and served.

Two clean builds run side by side (one for the book tests, one more to prove the
build reproducible) into temporary folders, each with an empty execution cache.
The ``site`` fixture serves the first one on 127.0.0.1 as GitHub Pages serves the
published book: under the path of its address, gzip-compressed, with its 404 page.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

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


SITE_PATH = urlsplit(yaml.safe_load((ROOT / "CITATION.cff").read_text())["url"]).path.rstrip("/") + "/"
COMPRESSED = (".html", ".css", ".js", ".svg", ".json", ".xml", ".txt", ".ipynb")


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the built site under SITE_PATH, gzip-compressed, with its 404 page."""

    def translate_path(self, path):
        path = urlsplit(path).path
        if not path.startswith(SITE_PATH):
            return str(Path(self.directory) / "__outside_the_site__")
        return super().translate_path("/" + path[len(SITE_PATH):])

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if (path.suffix not in COMPRESSED or not path.is_file()
                or "gzip" not in self.headers.get("Accept-Encoding", "")):
            return super().send_head()
        body = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return _Body(body)

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.exists():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Body:
    """What send_head returns: a file-like object copyfile reads the body from."""

    def __init__(self, data: bytes):
        self.data = data

    def read(self, size=-1):
        chunk, self.data = (self.data, b"") if size < 0 else (self.data[:size], self.data[size:])
        return chunk

    def close(self):
        pass


@pytest.fixture(scope="session")
def site(built_book):
    """The address of the built book, served as GitHub Pages serves it."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(SiteHandler, directory=str(built_book.html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{SITE_PATH}"
    server.shutdown()
    server.server_close()
