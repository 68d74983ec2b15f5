"""tools/fignumber_cache.py: figure numbers as Sphinx gives them, through a series of edits.

A small project of three numbered pages is edited step by step (prose only, figures
swapped, a figure added, a page moved in the table of contents, a caption removed)
and rebuilt incrementally with the extension after each step; every page's numbered
references must equal those of a fresh build of the same sources without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
DOT = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def figure(label: str, caption: str = "A dot.") -> str:
    return f"\n.. _{label}:\n\n.. figure:: dot.png\n\n   {caption}\n" if caption else \
        f"\n.. _{label}:\n\n.. figure:: dot.png\n"


def write(src: Path, extensions: list[str], pages: dict[str, str], order: list[str]) -> None:
    src.mkdir(parents=True, exist_ok=True)
    (src / "conf.py").write_text(f"extensions = {extensions!r}\nnumfig = True\n")
    (src / "dot.png").write_bytes(DOT)
    (src / "index.rst").write_text("Book\n====\n\n.. toctree::\n   :numbered:\n\n" +
                                   "".join(f"   {name}\n" for name in order))
    for name, body in pages.items():
        path = src / f"{name}.rst"
        if not path.exists() or path.read_text() != body:
            path.write_text(body)


def build(src: Path, out: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src), str(out)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr


def numbers(out: Path, names: list[str]) -> dict:
    found = {}
    for name in names:
        soup = BeautifulSoup((out / f"{name}.html").read_text(), "html.parser")
        found[name] = [a.get_text() for a in soup.select("a.reference.internal") if a.get_text().startswith("Fig")]
    return found


REFS = "See :numref:`fig-a`, :numref:`fig-b`, :numref:`fig-c` and :numref:`fig-d`.\n"


def steps():
    one = "One\n===\n\n" + REFS + figure("fig-a") + figure("fig-b")
    two = "Two\n===\n\n" + REFS + "\nSection\n-------\n" + figure("fig-c")
    three = "Three\n=====\n\n" + REFS + figure("fig-d")
    order = ["one", "two", "three"]
    yield {"one": one, "two": two, "three": three}, order
    yield {"one": one.replace("See", "Now see"), "two": two, "three": three}, order  # prose only
    one = "One\n===\n\n" + REFS + figure("fig-b") + figure("fig-a")  # swapped
    yield {"one": one, "two": two, "three": three}, order
    two = two.replace("\nSection\n", figure("fig-e") + "\nSection\n")  # a figure added before fig-c
    yield {"one": one, "two": two, "three": three}, order
    yield {"one": one, "two": two, "three": three}, ["three", "one", "two"]  # pages moved
    refs = REFS.replace(":numref:`fig-b`, ", "")  # an uncaptioned figure has no number to cite
    one = "One\n===\n\n" + refs + figure("fig-b", caption="") + figure("fig-a")
    two, three = two.replace(REFS, refs), three.replace(REFS, refs)
    yield {"one": one, "two": two, "three": three}, ["three", "one", "two"]  # a caption removed


def test_numbers_after_each_edit_equal_a_fresh_build_without_the_cache(tmp_path):
    src, out = tmp_path / "cached" / "src", tmp_path / "cached" / "out"
    for i, (pages, order) in enumerate(steps()):
        write(src, ["fignumber_cache"], pages, order)
        build(src, out)
        fresh_src, fresh_out = tmp_path / f"fresh{i}" / "src", tmp_path / f"fresh{i}" / "out"
        write(fresh_src, [], pages, order)
        build(fresh_src, fresh_out)
        expected = numbers(fresh_out, list(pages))
        assert numbers(out, list(pages)) == expected, f"step {i}"
        assert any(expected.values())
        shutil.rmtree(tmp_path / f"fresh{i}")
