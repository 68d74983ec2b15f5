"""A chapter downloaded from the site runs outside the repository.

The site serves each numbered chapter as a notebook and the wheel of gradlab it
installs. Here a fresh virtual environment gets the wheel (installed with pip from
the file, no index) and the scientific Python stack the chapters use (numpy,
matplotlib, IPython, shared from this project's environment through a .pth file,
so nothing is downloaded); the downloaded notebook then runs in a kernel of that
environment, in an empty folder outside the repository.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
BOOK_ONLY = ("myst_nb", "sphinx", "jupyter_book", "docutils")


def test_no_chapter_needs_the_book_build_tools():
    """A chapter imports gradlab, numpy, matplotlib and IPython, not the build tools."""
    for chapter in sorted((ROOT / "chapters").glob("[0-9][0-9]-*.md")):
        text = chapter.read_text()
        for module in BOOK_ONLY:
            assert not re.search(rf"^\s*(from|import) {module}\b", text, re.M), f"{chapter.name} imports {module}"


def test_a_downloaded_chapter_runs_outside_the_repository(built_book, tmp_path):
    html = built_book.html
    wheel = next((html / "_downloads").glob("gradlab-*-py3-none-any.whl"))
    notebook = html / "_downloads" / "notebooks" / "01-depth.ipynb"
    reader = tmp_path / "reader"
    reader.mkdir()
    shutil.copy(wheel, reader / wheel.name)
    shutil.copy(notebook, reader / notebook.name)

    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # the stack a reader has (numpy, matplotlib, IPython and a kernel), without downloading
    (site / "shared_stack.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "--target", str(site), str(reader / wheel.name)],
                   check=True)
    found = subprocess.run([str(python), "-c", "import gradlab; print(gradlab.__file__)"], cwd=reader,
                           capture_output=True, text=True, check=True).stdout
    assert found.startswith(str(site)), f"gradlab imported from {found}, not from the wheel"

    kernels = tmp_path / "jupyter" / "kernels" / "reader"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "reader", "language": "python"}))
    nb = nbformat.read(reader / notebook.name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import sys\n"
        f"assert not [m for m in sys.modules if m.split('.')[0] in {BOOK_ONLY!r}], 'book tools imported'\n"
        "import gradlab\n"
        f"assert gradlab.__file__.startswith({str(site)!r})"))
    import os

    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(tmp_path / "jupyter")
    try:
        NotebookClient(nb, timeout=600, kernel_name="reader",
                       resources={"metadata": {"path": str(reader)}}).execute()
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH")
        else:
            os.environ["JUPYTER_PATH"] = old
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert not list(reader.glob("*.png")) and sorted(p.name for p in reader.iterdir()) == sorted(
        [wheel.name, notebook.name]), "the notebook wrote files next to itself"
