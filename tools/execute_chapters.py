"""Execute the book's notebooks in parallel into the execution cache, before Sphinx runs.

Sphinx's own parallel mode falls back to serial with this extension set, so the
build would execute the chapters one after another. ``execute_missing`` runs every
notebook that jupyter-cache does not yet hold, on all cores, exactly as myst-nb
would (the same reader, so the same cache key; the notebook's folder as working
directory; the same timeout), and stores the results in the cache. Sphinx then
finds every notebook cached. A notebook that fails here is not cached: myst-nb
executes it again in the Sphinx pass and reports the error there, with its file
and cell, so a failure is never hidden.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import time
from pathlib import Path

from toc import toc_files


def toc_notebooks(book: Path) -> list[Path]:
    """The files of ``_toc.yml`` that hold code cells, in the order of the book."""
    names = toc_files(book)
    paths = [book / (n if n.endswith(".md") else f"{n}.md") for n in names]
    return [p for p in paths if p.is_file() and "```{code-cell}" in p.read_text(encoding="utf-8")]


def read_notebook(path: Path):
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(path.read_text(encoding="utf-8"), add_source_map=True, path=path)


def _execute(path: str, timeout: int):
    """Worker: execute one notebook in its folder; the executed notebook or the error."""
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = read_notebook(Path(path))
    result = single_nb_execution(notebook, cwd=str(Path(path).parent), timeout=timeout,
                                 allow_errors=False, meta_override=True)
    return path, notebook, result.time, None if result.err is None else repr(result.err)


def execute_missing(book: Path, cache_path: Path, env: dict, timeout: int, workers: int | None = None):
    """Execute the notebooks the cache lacks, ``workers`` at a time; returns (path, seconds, error)."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(cache_path))
    todo = []
    for path in toc_notebooks(book):
        try:
            cache.match_cache_notebook(read_notebook(path))
        except KeyError:
            todo.append(path)
    if not todo:
        return []
    workers = workers or os.cpu_count() or 1
    saved = dict(os.environ)
    os.environ.update(env)  # the kernels inherit the build's environment
    done = []
    try:
        # spawn, not fork: a clean interpreter per worker (zmq and threads do not fork well)
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(todo)),
                                                    mp_context=context) as pool:
            futures = [pool.submit(_execute, str(p), timeout) for p in todo]
            for future in concurrent.futures.as_completed(futures):
                path, notebook, seconds, error = future.result()
                done.append((path, seconds, error))
                if error is None:
                    stage = cache.add_nb_to_project(path)
                    cache.cache_notebook_bundle(
                        CacheBundleIn(notebook, stage.uri, data={"execution_seconds": seconds}),
                        check_validity=False, overwrite=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return sorted(done)


if __name__ == "__main__":  # a quick look: which notebooks the cache lacks
    import sys

    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    start = time.perf_counter()
    print([p.name for p in toc_notebooks(root)], f"{time.perf_counter() - start:.2f} s")
