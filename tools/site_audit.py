"""Serve the built site as GitHub Pages does and measure it in a real browser.

Shared by the browser tests (``tests/``) and the benchmark (``tools/bench.py``):

* ``serve(html)``: the site on 127.0.0.1 under the path of the book's address,
  gzip-compressed like GitHub Pages, with the site's own 404 page;
* ``page_weight(browser, url)``: the bytes one page load transfers, by kind;
* ``lighthouse(url, out, categories)``: a Lighthouse report (mobile preset) from
  Debian's Chromium.

The browser is Debian's Chromium (``/usr/bin/chromium``) driven by Playwright;
nothing here downloads a browser.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# As the machine's own check starts Chromium: headless, and none of the background
# connections that a closed network refuses.
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
SITE_PATH = urlsplit(yaml.safe_load((ROOT / "CITATION.cff").read_text())["url"]).path.rstrip("/") + "/"
COMPRESSED = (".html", ".css", ".js", ".svg", ".json", ".xml", ".txt", ".ipynb")
KINDS = {".html": "html", ".css": "styles", ".js": "scripts", ".woff2": "fonts", ".woff": "fonts",
         ".svg": "figures", ".png": "figures"}


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a built site under SITE_PATH, gzip-compressed, with its 404 page."""

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
    """What send_head returns: a file-like object that copyfile reads the body from."""

    def __init__(self, data: bytes):
        self.data = data

    def read(self, size=-1):
        chunk, self.data = (self.data, b"") if size < 0 else (self.data[:size], self.data[size:])
        return chunk

    def close(self):
        pass


class Site:
    """A running server; ``url`` is the address of the site's root."""

    def __init__(self, html: Path):
        self.server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(SiteHandler, directory=str(html)))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{SITE_PATH}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def serve(html: Path) -> Site:
    return Site(html)


def page_weight(browser, url: str) -> dict:
    """Bytes each kind of resource of one page load took on the wire (compressed as served)."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(url, wait_until="networkidle")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # every figure and font
    page.wait_for_load_state("networkidle")
    sizes: dict = {}
    for response in responses:
        path = urlsplit(response.url).path
        if response.request.resource_type == "document":
            kind = "html"
        else:
            kind = "figures" if "/_images/" in path else KINDS.get(Path(path).suffix, "other")
        sizes[kind] = sizes.get(kind, 0) + response.request.sizes()["responseBodySize"]
    context.close()
    return sizes


def lighthouse(url: str, out: Path, categories: str) -> dict:
    """Lighthouse's mobile audit of ``url`` with Debian's Chromium; the JSON report."""
    subprocess.run(
        [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
         f"--only-categories={categories}", "--chrome-flags=" + " ".join(FLAGS)],
        env={**os.environ, "CHROME_PATH": CHROMIUM}, check=True, timeout=300, capture_output=True)
    return json.loads(Path(out).read_text())
