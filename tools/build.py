"""Build the book strictly and reproducibly (called by ``make book``).

What this adds to ``jupyter-book build``:

* Strictness that cannot be skipped: ``-W -n --keep-going`` and ``--all`` on every
  run, so every page is re-read and a warning from an unchanged page still fails a
  second build (Sphinx's incremental build would exit 0 for pages it does not re-read).
* Outputs that are never stale: jupyter-cache keys a notebook on its cell text only,
  so the cache is cleared whenever ``code/`` or ``requirements.txt`` changes.
* No leftovers: the old ``_build/html`` is removed first, so the site holds only
  what this build wrote.
* Reproducibility: ``SOURCE_DATE_EPOCH`` is the time of the last commit
  (matplotlib and Sphinx read it for the dates they write) and hash seeds are
  pinned.

Usage: ``python tools/build.py [--fresh] [--path-output DIR] [BOOK_DIR]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Used when the book is not in a git checkout: 2026-01-01T00:00:00Z.
FALLBACK_DATE_EPOCH = "1767225600"


def source_date_epoch(book: Path) -> str:
    """The time of the last commit, so "last updated" is true and two builds agree."""
    try:
        out = subprocess.run(["git", "-C", str(book), "log", "-1", "--format=%ct"],
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return FALLBACK_DATE_EPOCH
    return out if out.isdigit() else FALLBACK_DATE_EPOCH


def inputs_hash(book: Path) -> str:
    """Hash of everything outside the cells that can change an executed output."""
    digest = hashlib.sha256()
    files = [book / "requirements.txt"]
    code = book / "code"
    if code.is_dir():
        files += sorted(
            p
            for p in code.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p)
        )
    for path in files:
        if path.exists():
            digest.update(str(path.relative_to(book)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("book", nargs="?", default=str(ROOT), help="book folder")
    parser.add_argument("--path-output", default=None, help="folder that receives _build")
    parser.add_argument("--fresh", action="store_true", help="delete the execution cache first")
    args = parser.parse_args(argv)

    book = Path(args.book).resolve()
    out = Path(args.path_output).resolve() if args.path_output else book
    cache = out / "_build" / ".jupyter_cache"
    stamp = out / "_build" / ".inputs-hash"
    key = inputs_hash(book)
    if args.fresh or not stamp.exists() or stamp.read_text() != key:
        if cache.exists():
            print("build: code/ or requirements.txt changed; clearing the execution cache")
        shutil.rmtree(cache, ignore_errors=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(key)
    # Every page is rewritten anyway (--all); removing the old site first also
    # removes figures of earlier builds, and leaves no site behind a failed build.
    shutil.rmtree(out / "_build" / "html", ignore_errors=True)

    env = dict(os.environ)
    env.setdefault("SOURCE_DATE_EPOCH", source_date_epoch(book))
    env["PYTHONHASHSEED"] = "0"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # debugpy's frozen-modules note goes to stderr
    # The kernels talk to the build over loopback TCP, and ipykernel logs a warning
    # about that plain-text transport at every start. Only the build's kernels get
    # this private IPython folder, which raises their log level to errors.
    ipython_dir = out / "_build" / ".ipython"
    profile = ipython_dir / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text("c.IPKernelApp.log_level = 'ERROR'\n")
    env["IPYTHONDIR"] = str(ipython_dir)
    env.pop("MPLCONFIGDIR", None)
    command = [
        str(Path(sys.executable).parent / "jupyter-book"), "build", str(book),
        "--builder", "html", "--all", "-W", "-n", "--keep-going",
    ]
    if args.path_output:
        command += ["--path-output", str(out)]
    print("build: jupyter-book", " ".join(command[1:]), flush=True)
    result = subprocess.run(command, env=env)
    html = out / "_build" / "html" / "index.html"
    if result.returncode == 0 and not html.exists():
        print(f"build: {html} is missing", file=sys.stderr)
        return 1
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
