"""Smaller figure files for the site, drawn the same.

The chapters' figures reach the site as matplotlib writes them (``_images/``):
SVG with six-decimal coordinates, or PNG in full colour. Once the build is done:

* SVG goes through SVGO (the ``svgo`` package that ``package-lock.json`` pins),
  which shortens path data and drops what draws nothing;
* PNG is stored with a palette of at most 256 colours (median cut, no dithering),
  when that is smaller: a plot has a few flat colours and their anti-aliased
  edges, and the largest difference is a faint change of shade along an edge.

Drawn by Chromium at twice the resolution, an optimised SVG differs from its
original in at most a thousandth of its pixels, and a palette PNG only in the
shades of anti-aliased edges (``tests/test_figures_optimised.py`` compares them). The results are kept beside the doctrees, keyed by
the original file's content, so a rebuild optimises only figures it has not seen.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVGO = ROOT / "node_modules" / ".bin" / "svgo"


def quantised_png(data: bytes) -> bytes:
    """The PNG with a palette of at most 256 colours, or unchanged when that is not smaller."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        if image.mode == "P":
            return data
        rgba = image.convert("RGBA")
        if rgba.getextrema()[3][0] < 255:
            return data  # see-through pixels: a palette would lose their alpha
        palette = rgba.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE)
        out = io.BytesIO()
        palette.save(out, format="PNG", optimize=True)
    return out.getvalue() if len(out.getvalue()) < len(data) else data


def optimised_svgs(sources: dict[str, bytes]) -> dict[str, bytes]:
    """SVGO's version of each SVG (one Node.js run for all of them)."""
    if not sources:
        return {}
    if not SVGO.exists():
        raise RuntimeError("svgo is not installed: run `make node` (npm ci) before building the book")
    with tempfile.TemporaryDirectory(prefix="svgo-") as scratch:
        given, taken = Path(scratch) / "in", Path(scratch) / "out"
        given.mkdir()
        for name, data in sources.items():
            (given / name).write_bytes(data)
        subprocess.run([str(SVGO), "--quiet", "--multipass", "--folder", str(given), "--output", str(taken)],
                       check=True, capture_output=True, timeout=600)
        return {name: (taken / name).read_bytes() for name in sources}


def optimise_figures(images: Path, store: Path) -> None:
    """Optimise the figures in ``images`` that are not optimised yet.

    Sphinx copies a figure into ``images`` with its original time stamp whenever
    it writes the figure's page, so each file is recognised by its content:
    ``store`` keeps every result under the hash of the file it came from
    (``in-<hash>``), and an empty ``out-<hash>`` for each result, so that a file
    optimised by an earlier build is left alone.
    """
    if not images.is_dir():
        return
    store.mkdir(parents=True, exist_ok=True)
    todo: dict[Path, Path] = {}
    for path in sorted(images.iterdir()):
        if path.suffix not in (".svg", ".png"):
            continue
        key = hashlib.sha256(path.read_bytes()).hexdigest()
        if not (store / f"out-{key}").exists():
            todo[path] = store / f"in-{key}{path.suffix}"
    fresh_svgs = {path.name: path.read_bytes() for path, kept in todo.items()
                  if path.suffix == ".svg" and not kept.exists()}
    for name, data in optimised_svgs(fresh_svgs).items():
        todo[images / name].write_bytes(data if len(data) < len(fresh_svgs[name]) else fresh_svgs[name])
    for path, kept in todo.items():
        if path.suffix == ".png" and not kept.exists():
            kept.write_bytes(quantised_png(path.read_bytes()))
        result = kept.read_bytes()
        (store / f"out-{hashlib.sha256(result).hexdigest()}").touch()
        path.write_bytes(result)
