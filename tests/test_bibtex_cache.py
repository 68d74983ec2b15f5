"""tools/bibtex_cache.py: reference lists as sphinxcontrib-bibtex formats them, after edits too.

A small project cites two works. Built with and without the extension, its pages
must be identical; after the title of a cited work is edited, an incremental build
must show the new title; and a work that cannot be formatted warns on every build
that reads its page, as it does without the extension.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BIB = """
@article{hochreiter1997,
  author  = {Hochreiter, Sepp and Schmidhuber, J{\\"u}rgen},
  title   = {{TITLE}},
  journal = {Neural Computation},
  year    = {1997},
  volume  = {9},
  pages   = {1735--1780},
}
@inproceedings{glorot2010,
  author    = {Glorot, Xavier and Bengio, Yoshua},
  title     = {Understanding the difficulty of training deep feedforward neural networks},
  booktitle = {Proceedings of AISTATS},
  year      = {2010},
}
"""


def project(src: Path, extensions: list[str], title: str, page_note: str = "") -> None:
    src.mkdir(parents=True, exist_ok=True)
    (src / "conf.py").write_text(
        f"extensions = ['sphinxcontrib.bibtex'] + {extensions!r}\n"
        "bibtex_bibfiles = ['refs.bib']\nbibtex_reference_style = 'author_year'\n")
    (src / "refs.bib").write_text(BIB.replace("TITLE", title))
    (src / "index.rst").write_text(
        f"Book\n====\n\nLong memory :cite:p:`hochreiter1997` and depth :cite:p:`glorot2010`.{page_note}\n\n"
        ".. bibliography::\n")


def build(src: Path, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tools")}
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(src), str(out)],
                          capture_output=True, text=True, env=env, timeout=300)


def body(out: Path) -> str:
    text = (out / "index.html").read_text()
    return text[text.index('<div class="body"'):text.index('<div class="sphinxsidebar"')]


def test_the_same_page_with_and_without_the_cache_and_after_an_edit(tmp_path):
    for name, extensions in [("plain", []), ("cached", ["bibtex_cache"])]:
        project(tmp_path / name / "src", extensions, "Long short-term memory")
        run = build(tmp_path / name / "src", tmp_path / name / "out")
        assert run.returncode == 0, run.stderr
    cached, plain = tmp_path / "cached", tmp_path / "plain"
    assert body(cached / "out") == body(plain / "out")
    assert "Long short-term memory" in body(cached / "out")

    # a prose edit: the list is taken from the cache and comes out the same
    project(cached / "src", ["bibtex_cache"], "Long short-term memory", page_note=" Again.")
    assert build(cached / "src", cached / "out").returncode == 0
    assert body(cached / "out").replace(" Again.", "") == body(plain / "out")

    # an edited entry: the list is formatted again
    project(cached / "src", ["bibtex_cache"], "Long short-term memory, revised")
    run = build(cached / "src", cached / "out")
    assert run.returncode == 0, run.stderr
    assert "Long short-term memory, revised" in body(cached / "out")


def test_an_entry_that_cannot_be_formatted_warns_on_every_build(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    project(src, ["bibtex_cache"], "Long short-term memory")
    (src / "refs.bib").write_text((src / "refs.bib").read_text().replace("  journal = {Neural Computation},\n", ""))
    for note in ("", " Edited."):  # the page is read again each time
        project_text = (src / "index.rst").read_text()
        (src / "index.rst").write_text(project_text.replace(".\n\n.. bib", f".{note}\n\n.. bib", 1))
        run = build(src, out)
        assert run.returncode != 0 and "journal" in run.stderr, run.stderr
