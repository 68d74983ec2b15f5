"""Build the book strictly and reproducibly (called by ``make book``).

What this adds to ``jupyter-book build``:

* Strictness that cannot be skipped: ``-W -n --keep-going``, and a failed build stays
  failed. Sphinx rebuilds incrementally and would exit 0 for a page with a warning
  that it does not need to read again; the build keeps a ledger of the warnings of
  every page (``_build/.warnings.json``): a page read or written again gets the
  warnings of this build, an untouched page keeps those of its last build, and the
  build fails while any page has one.
* Fast rebuilds: only changed pages are read again, and before Sphinx runs the
  notebooks the execution cache lacks are executed in parallel on every core
  (``tools/execute_chapters.py``). Every page is read again after a change that can
  touch every page: an execution input (below), the book's extensions and styles
  (``SITE_INPUTS``), or a warning that belongs to no single page.
* Outputs that are never stale: jupyter-cache keys a notebook on its cell text only,
  so the cache is cleared whenever anything else an executed cell can depend on
  changes: the files of ``EXECUTION_INPUTS`` (the one place that declares them), the
  Python version, or the version of any installed package. A cell that opens a file
  of the repository that is not declared there fails the build, so a new input
  cannot be forgotten (an audit hook installed in the build's kernels checks it).
* No leftovers: a build that reads every page removes the old ``_build/html`` first,
  so the site holds only what it wrote (``--fresh`` builds from nothing).
* Reproducibility: ``SOURCE_DATE_EPOCH`` is the time of the last commit
  (matplotlib and Sphinx read it for the dates they write) and hash seeds are
  pinned.

* The student edition (``--student``, ``make student``): the same pages without the
  exercises' solutions (``tools/student_edition.py``), in ``_build/student/html``,
  from the same execution cache.

Usage: ``python tools/build.py [--fresh | --student] [--path-output DIR] [BOOK_DIR]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = Path(__file__).resolve().parent
# Used when the book is not in a git checkout: 2026-01-01T00:00:00Z.
FALLBACK_DATE_EPOCH = "1767225600"
# Seconds a notebook cell may run (the same as execute: timeout in _config.yml).
EXECUTION_TIMEOUT = 120

# Every file or folder outside the chapter text that an executed cell may read,
# relative to the book's root. The execution cache is keyed on their contents;
# a cell that opens any other file of the repository fails the build.
EXECUTION_INPUTS = (
    "code",  # the gradlab package the chapters import
    "requirements.txt",  # the pinned environment the cells run in
    "CITATION.cff",  # title, authors and version, rendered by the "How to cite" page
)
# Folders of the repository that cells may touch without declaring them: the
# virtual environment (keyed through the package versions), the build's own
# outputs and caches, and the version control folder.
UNDECLARED_OK = (".venv", "_build", ".git")

# Installed in the build's kernels (IPython runs it at start-up): refuse to open a
# repository file that EXECUTION_INPUTS does not declare.
GUARD = """\
def _gradlab_input_guard():
    import json
    import os
    import sys

    if "GRADLAB_BOOK_ROOT" not in os.environ:
        return
    root = os.path.realpath(os.environ["GRADLAB_BOOK_ROOT"])
    declared = [os.path.join(root, p) for p in json.loads(os.environ["GRADLAB_BOOK_INPUTS"])]
    free = [os.path.join(root, p) for p in json.loads(os.environ["GRADLAB_BOOK_FREE"])]

    def inside(path, folders):
        return any(path == f or path.startswith(f + os.sep) for f in folders)

    def guard(event, args):
        if event != "open" or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        path = os.path.realpath(os.fsdecode(args[0]))
        if not path.startswith(root + os.sep) or "__pycache__" in path.split(os.sep):
            return
        if inside(path, declared) or inside(path, free):
            return
        raise PermissionError(
            f"a cell opened {os.path.relpath(path, root)!r}, a file of the repository that "
            "tools/build.py does not declare in EXECUTION_INPUTS; declare it there so that "
            "the execution cache is cleared when it changes"
        )

    sys.addaudithook(guard)


_gradlab_input_guard()
del _gradlab_input_guard
"""


def source_date_epoch(book: Path) -> str:
    """The time of the last commit, so "last updated" is true and two builds agree."""
    try:
        out = subprocess.run(["git", "-C", str(book), "log", "-1", "--format=%ct"],
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return FALLBACK_DATE_EPOCH
    return out if out.isdigit() else FALLBACK_DATE_EPOCH


def declared_files(book: Path) -> list[Path]:
    """The existing files of EXECUTION_INPUTS (folders expanded), in a fixed order."""
    files = []
    for name in EXECUTION_INPUTS:
        path = book / name
        if path.is_dir():
            files += sorted(
                p for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts
                and not any(part.endswith(".egg-info") for part in p.parts)
            )
        elif path.is_file():
            files.append(path)
    return files


def environment_description() -> str:
    """The Python version and every installed distribution with its version."""
    from importlib import metadata

    packages = sorted({f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()
                       if d.metadata["Name"]})
    return "\n".join([sys.version, *packages])


def inputs_hash(book: Path) -> str:
    """Hash of everything outside the cells that can change an executed output."""
    digest = hashlib.sha256()
    digest.update(environment_description().encode())
    for path in declared_files(book):
        digest.update(str(path.relative_to(book)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


# Files the book's pages are made from besides the chapters, whose changes Sphinx
# does not notice by itself (its extensions and styles): a change rebuilds every page.
SITE_INPUTS = ("tools", "_static", "_config.yml", "_toc.yml", "references.bib")

ANSI = re.compile(r"\x1b\[[0-9;]*m")
PROGRESS = re.compile(r"^(?:reading sources|writing output)\.\.\. \[\s*\d+%\] (\S+)$")
PROBLEM = re.compile(r"^(?:(?P<location>\S[^:]*?(?::[^:]*)?): )?(?:WARNING|ERROR|CRITICAL|SEVERE):")
GLOBAL = "*"  # warnings that belong to no single page


def site_hash(book: Path) -> str:
    digest = hashlib.sha256()
    for name in SITE_INPUTS:
        path = book / name
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) \
            if path.is_dir() else ([path] if path.is_file() else [])
        for file in files:
            digest.update(str(file.relative_to(book)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def docname_of(location: str | None, book: Path) -> str:
    """The page a warning belongs to (from the path it starts with), or GLOBAL."""
    if not location:
        return GLOBAL
    path = location.split(":", 1)[0]
    try:
        rel = Path(path).resolve().relative_to(book)
    except (ValueError, OSError):
        return GLOBAL
    if rel.suffix in (".md", ".ipynb", ".rst"):
        return rel.with_suffix("").as_posix()
    return GLOBAL


def update_ledger(ledger: dict, lines: list[str], book: Path, full: bool) -> dict:
    """The warnings each page has, after a build that printed ``lines``.

    A page that this build read or wrote gets the warnings the build printed for it
    (none, if it is clean now); a page the build did not touch keeps the warnings of
    the build that last touched it, so a failed build stays failed until its cause is
    fixed, without re-reading unchanged pages. Warnings that belong to no page force
    the next build to re-read every page.
    """
    touched, found, current = set(), {}, None
    for raw in lines:
        line = ANSI.sub("", raw).rstrip()
        step = PROGRESS.match(line)
        if step:
            current = step.group(1)
            touched.add(current)
            continue
        problem = PROBLEM.match(line)
        if problem:
            doc = docname_of(problem.group("location"), book)
            # A warning located in a page belongs to the page being read or written
            # when it appeared: a page that includes another reports the included
            # file's lines, and only reading the including page again can clear it.
            if doc != GLOBAL and current is not None:
                doc = current
            found.setdefault(doc, []).append(line)
    kept = {} if full else {doc: warnings for doc, warnings in ledger.items()
                            if doc != GLOBAL and doc not in touched
                            and any((book / f"{doc}{ext}").exists() for ext in (".md", ".ipynb", ".rst"))}
    kept.update(found)
    return kept


# Everything a build reads: when none of it changed since the last successful build,
# the site is up to date and nothing runs.
BOOK_INPUTS = ("chapters",) + SITE_INPUTS + EXECUTION_INPUTS


def book_hash(book: Path, date: str) -> str:
    digest = hashlib.sha256(date.encode() + b"\0" + environment_description().encode())
    for name in sorted(set(BOOK_INPUTS)):
        path = book / name
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                       and not any(part.endswith(".egg-info") or part == "build" for part in p.parts)) \
            if path.is_dir() else ([path] if path.is_file() else [])
        for file in files:
            digest.update(str(file.relative_to(book)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)


def code_cells_hash(notebooks: list[Path]) -> str:
    """A hash of the code cells of the notebooks (what the execution cache is keyed on)."""
    digest = hashlib.sha256()
    for path in notebooks:
        digest.update(str(path).encode() + b"\0")
        for cell in CODE_CELL.findall(path.read_text(encoding="utf-8")):
            digest.update(cell.encode() + b"\0")
    return digest.hexdigest()


def kernel_environment(book: Path, build: Path, date: str) -> dict:
    """The environment of the build and of the kernels that execute the chapters."""
    env = dict(os.environ)
    env["SOURCE_DATE_EPOCH"] = date
    env["PYTHONHASHSEED"] = "0"
    # One BLAS thread per kernel: the chapters' matrices are small, two kernels run at
    # once on two cores, and a thread count that differs between machines would change
    # the last bits of sums (and so of printed numbers).
    for threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[threads] = "1"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # debugpy's frozen-modules note goes to stderr
    # The kernels talk to the build over loopback TCP, and ipykernel logs a warning
    # about that plain-text transport at every start. Only the build's kernels get
    # this private IPython folder, which raises their log level to errors.
    ipython_dir = build / ".ipython"
    profile = ipython_dir / "profile_default"
    (profile / "startup").mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text("c.IPKernelApp.log_level = 'ERROR'\n")
    (profile / "startup" / "00-input-guard.py").write_text(GUARD)
    env["IPYTHONDIR"] = str(ipython_dir)
    env["GRADLAB_BOOK_ROOT"] = str(book)
    env["GRADLAB_BOOK_INPUTS"] = json.dumps(list(EXECUTION_INPUTS))
    env["GRADLAB_BOOK_FREE"] = json.dumps(list(UNDECLARED_OK))
    env.pop("MPLCONFIGDIR", None)
    return env


def refresh_cache(book: Path, build: Path, env: dict, fresh: bool, cells_known: bool) -> None:
    """Make the execution cache match the execution inputs, executing what it lacks.

    The cache carries its own stamp (the inputs it was executed with), apart from the
    site's, so that the student edition and the full book share one cache: whichever
    build runs first after a change clears and refills it, and the other still knows
    whether its own pages are stale. ``cells_known``: no code cell changed since the
    last successful build, so nothing can be missing from a current cache.
    """
    import execute_chapters

    cache = build / ".jupyter_cache"
    stamp, key = build / ".cache-inputs-hash", inputs_hash(book)
    current = not fresh and stamp.exists() and stamp.read_text() == key
    if not current:
        if cache.exists() and not fresh:
            print("build: an execution input or the environment changed; clearing the execution cache")
        shutil.rmtree(cache, ignore_errors=True)
    build.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    ran = [] if (current and cells_known) else \
        execute_chapters.execute_missing(book, cache, env, timeout=EXECUTION_TIMEOUT)
    # the cache now holds outputs of these inputs only (failed notebooks are not cached)
    stamp.write_text(key)
    if ran:
        print(f"build: executed {len(ran)} notebook(s) in parallel in "
              f"{time.perf_counter() - started:.1f} s: "
              + ", ".join(f"{Path(p).name} {s:.1f} s" + (" (failed)" if e else "") for p, s, e in ran),
              flush=True)


def run_jupyter_book(command: list[str], env: dict) -> tuple[int, list[str]]:
    """Run a jupyter-book command, echoing its output; its exit code and lines."""
    print("build: jupyter-book", " ".join(command[2:]), flush=True)
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, encoding="utf-8", errors="replace")
    lines = []
    for line in process.stdout:
        sys.stdout.write(line)
        lines.append(line)
    returncode = process.wait()
    sys.stdout.flush()
    return returncode, lines


def student_config(book: Path, cache: Path) -> str:
    """The book's _config.yml for the student edition (no solutions, shared cache)."""
    import yaml

    config = yaml.safe_load((book / "_config.yml").read_text(encoding="utf-8"))
    config["execute"]["cache"] = str(cache)
    sphinx = config["sphinx"]
    # local extensions are found relative to the configuration file, which moves
    sphinx["local_extensions"] = {name: str(book / path)
                                  for name, path in sphinx["local_extensions"].items()}
    sphinx["local_extensions"]["student_edition"] = str(book / "tools")
    sphinx["config"]["hide_solutions"] = True
    return yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def build_student(book: Path, out: Path, date: str) -> int:
    """The student edition, in ``_build/student/html``: every page, no solutions."""
    build = out / "_build"
    env = kernel_environment(book, build, date)
    refresh_cache(book, build, env, fresh=False, cells_known=False)
    student = build / "student"
    shutil.rmtree(student, ignore_errors=True)
    student.mkdir(parents=True)
    config = student / "_config.yml"
    config.write_text(student_config(book, build / ".jupyter_cache"), encoding="utf-8")
    command = [
        sys.executable, str(TOOLS / "run_jupyter_book.py"), "build", str(book),
        "--builder", "html", "-W", "-n", "--keep-going", "--all",
        "--config", str(config), "--path-output", str(student),
    ]
    returncode, _ = run_jupyter_book(command, env)
    site = student / "_build" / "html"
    if returncode == 0 and not (site / "index.html").exists():
        print(f"build: {site / 'index.html'} is missing", file=sys.stderr)
        return 1
    if returncode == 0:
        site.rename(student / "html")
        print(f"build: the student edition is in {student / 'html'}")
    return returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("book", nargs="?", default=str(ROOT), help="book folder")
    parser.add_argument("--path-output", default=None, help="folder that receives _build")
    parser.add_argument("--fresh", action="store_true",
                        help="build from nothing: delete the execution cache and the site first")
    parser.add_argument("--student", action="store_true",
                        help="build the student edition (no solutions) into _build/student/html")
    args = parser.parse_args(argv)

    book = Path(args.book).resolve()
    out = Path(args.path_output).resolve() if args.path_output else book
    build = out / "_build"
    date = os.environ.get("SOURCE_DATE_EPOCH") or source_date_epoch(book)
    if args.student:
        if args.fresh:
            parser.error("--fresh builds the full book; the student edition always reads every page")
        return build_student(book, out, date)
    stamps = {"inputs": (build / ".inputs-hash", inputs_hash(book)),
              "site": (build / ".site-hash", site_hash(book))}
    ledger_file = build / ".warnings.json"
    ledger = json.loads(ledger_file.read_text()) if ledger_file.exists() else {}
    everything = (build / ".book-hash", book_hash(book, date))
    if (not args.fresh and everything[0].exists() and everything[0].read_text() == everything[1]
            and (build / "html" / "index.html").exists()):
        if ledger:
            print("build: nothing changed since the last build, which failed:", file=sys.stderr)
            for warning in (w for warnings in ledger.values() for w in warnings):
                print("  " + warning, file=sys.stderr)
            return 1
        print(f"build: nothing changed since the last build; the site in {build / 'html'} is up to date")
        return 0
    changed = {name for name, (stamp, key) in stamps.items() if not stamp.exists() or stamp.read_text() != key}
    # Every page is read again after a change that can touch every page (execution
    # inputs, the book's extensions and styles) or a warning that belongs to no page.
    full = args.fresh or bool(changed) or GLOBAL in ledger
    if full:
        # removing the old site also removes files of earlier builds, and leaves no
        # site behind a failed build
        shutil.rmtree(build / "html", ignore_errors=True)
    build.mkdir(parents=True, exist_ok=True)
    env = kernel_environment(book, build, date)

    # Execute the notebooks the cache lacks on every core, before Sphinx reads them
    # (not needed when no code cell changed since the last successful build).
    import execute_chapters

    cells = (build / ".code-cells-hash", code_cells_hash(execute_chapters.toc_notebooks(book)))
    refresh_cache(book, build, env, fresh=args.fresh,
                  cells_known="inputs" not in changed and cells[0].exists() and cells[0].read_text() == cells[1])

    command = [
        sys.executable, str(TOOLS / "run_jupyter_book.py"), "build", str(book),
        "--builder", "html", "-W", "-n", "--keep-going",
    ] + (["--all"] if full else [])
    if args.path_output:
        command += ["--path-output", str(out)]
    returncode, lines = run_jupyter_book(command, env)

    ledger = update_ledger(ledger, lines, book, full)
    ledger_file.write_text(json.dumps(ledger, indent=1, sort_keys=True))
    # The site now matches the inputs and every page the keys ask for was read,
    # failed or not: the ledger holds what failed.
    for stamp, key in stamps.values():
        stamp.write_text(key)
    if returncode == 0 and not ledger:
        everything[0].write_text(everything[1])
        cells[0].write_text(cells[1])
    else:
        everything[0].unlink(missing_ok=True)
    remembered = [w for doc, warnings in ledger.items() for w in warnings
                  if not any(w in ANSI.sub("", line) for line in lines)]
    if remembered:
        print(f"build: still failing: {len(remembered)} warning(s) from an earlier build of pages "
              "that this build did not need to read again:", file=sys.stderr)
        for warning in remembered:
            print("  " + warning, file=sys.stderr)
    html = build / "html" / "index.html"
    if returncode == 0 and not html.exists():
        print(f"build: {html} is missing", file=sys.stderr)
        return 1
    if returncode == 0 and ledger:
        return 1
    return returncode


if __name__ == "__main__":
    sys.exit(main())
