"""tools/numref_cache.py: numbered references come out as without it, also after an edit.

A small Sphinx project whose pages cite each other's figures is built with and
without the extension; the pages must be identical. Then the figures of one page
swap places and an incremental build must renumber every reference to them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]

FIGURES = """
.. _{a}:

.. figure:: dot.png

   Figure {a}.

.. _{b}:

.. figure:: dot.png

   Figure {b}.
"""


def project(src: Path, extensions: list[str], first: str, second: str) -> None:
    src.mkdir(parents=True, exist_ok=True)
    (src / "conf.py").write_text(f"extensions = {extensions!r}\nnumfig = True\n")
    (src / "dot.png").write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"))
    (src / "index.rst").write_text("Book\n====\n\n.. toctree::\n   :numbered:\n\n   one\n   two\n")
    (src / "one.rst").write_text("One\n===\n\nSee :numref:`fig-a`, :numref:`fig-b` and :numref:`fig-a` again.\n"
                                 + FIGURES.format(a="fig-c", b="fig-d"))
    (src / "two.rst").write_text("Two\n===\n\nHere :numref:`fig-a` and :numref:`fig-c`.\n"
                                 + FIGURES.format(a=first, b=second))


def build(src: Path, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src), str(out)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr


def numrefs(out: Path, page: str) -> list[str]:
    soup = BeautifulSoup((out / f"{page}.html").read_text(), "html.parser")
    return [a.get_text() for a in soup.select("a.reference.internal") if a.get_text().startswith("Fig")]


def test_the_same_pages_with_and_without_the_cache(tmp_path):
    for name, extensions in [("plain", []), ("cached", ["numref_cache"])]:
        project(tmp_path / name / "src", extensions, "fig-a", "fig-b")
        build(tmp_path / name / "src", tmp_path / name / "out")
    for page in ["one", "two"]:
        assert numrefs(tmp_path / "cached" / "out", page) == numrefs(tmp_path / "plain" / "out", page)
    assert numrefs(tmp_path / "cached" / "out", "one") == ["Fig. 2.1", "Fig. 2.2", "Fig. 2.1"]


def test_an_incremental_build_renumbers_after_an_edit(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    project(src, ["numref_cache"], "fig-a", "fig-b")
    build(src, out)
    assert numrefs(out, "two") == ["Fig. 2.1", "Fig. 1.1"]
    project(src, ["numref_cache"], "fig-b", "fig-a")  # the figures of page two swap places
    build(src, out)
    assert numrefs(out, "two") == ["Fig. 2.2", "Fig. 1.1"]
    assert numrefs(out, "one") == ["Fig. 2.2", "Fig. 2.1", "Fig. 2.2"]
