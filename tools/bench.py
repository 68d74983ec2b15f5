"""Benchmark one training step of a deep ReLU MLP: gradlab against PyTorch.

A step is forward, softmax cross-entropy, backward and a plain SGD update of
a depth-20, width-256 ReLU MLP on a batch of 128, in float64 and float32.
PyTorch (CPU) runs the same network when it is installed, with the same
number of threads as numpy's BLAS is allowed to use. Prints the median time
per step over repeats (the two libraries timed in turn), the ratio gradlab / PyTorch,
the peak memory numpy allocates during one gradlab step (tracemalloc), and the
share of the step spent on the layers' private copies of their inputs.

It then executes every numbered chapter of the book from scratch, as the build
does, and prints how long each takes (the budget is 30 s a chapter on 2 cores).

Last, in a copy of the repository: a cold build against the chapters' own compute,
a rebuild with nothing changed and one after a prose edit; the bytes every chapter
page transfers (HTML, styles, scripts, fonts, figures) as GitHub Pages serves it;
the site's size; and Lighthouse's mobile scores (median of three runs). Nothing
is asserted: the numbers are printed, absolute times next to ratios, so that
machines can be compared.

Usage: .venv/bin/python tools/bench.py [--repeats 30] [--warmup 5] [--no-step]
[--no-chapters] [--no-build] [--lighthouse-runs 3]

On a machine shared with other work, multi-threaded timings (PyTorch's most of
all) swing with the load; ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1`` in the
environment gives a single-threaded comparison that is far less sensitive.
"""

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from gradlab import losses, nn, optim

DEPTH, WIDTH, BATCH, CLASSES = 20, 256, 128, 10


def build_gradlab(dtype, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(DEPTH - 1):
        layers += [nn.Linear(WIDTH, WIDTH, init="kaiming_normal", rng=rng, dtype=dtype),
                   nn.Activation("relu")]
    layers.append(nn.Linear(WIDTH, CLASSES, rng=rng, dtype=dtype))
    model = nn.Sequential(*layers)
    x = rng.standard_normal((BATCH, WIDTH)).astype(dtype)
    y = rng.integers(0, CLASSES, BATCH)
    return model, x, y


def gradlab_step(dtype):
    model, x, y = build_gradlab(dtype)
    opt = optim.SGD(model, lr=1e-3)

    def step():
        logits = model.forward(x)
        _, g = losses.softmax_cross_entropy(logits, y)
        model.backward(g)
        opt.step()

    return step


def torch_step(torch, dtype):
    tdtype = {np.float64: torch.float64, np.float32: torch.float32}[dtype]
    torch.manual_seed(0)
    layers = []
    for _ in range(DEPTH - 1):
        layers += [torch.nn.Linear(WIDTH, WIDTH, dtype=tdtype), torch.nn.ReLU()]
    layers.append(torch.nn.Linear(WIDTH, CLASSES, dtype=tdtype))
    model = torch.nn.Sequential(*layers)
    x = torch.randn(BATCH, WIDTH, dtype=tdtype)
    y = torch.randint(0, CLASSES, (BATCH,))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=False)
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()

    return step


def median_ms(steps, repeats, warmup):
    """Median milliseconds per call of each function in ``steps``.

    The functions are timed in turn within each repeat, so that a load from
    other processes on the machine hits all of them alike.
    """
    for _ in range(warmup):
        for step in steps:
            step()
    times = [[] for _ in steps]
    for _ in range(repeats):
        for k, step in enumerate(steps):
            t0 = time.perf_counter()
            step()
            times[k].append(time.perf_counter() - t0)
    return [1e3 * statistics.median(t) for t in times]


def copy_ms(dtype, repeats, warmup):
    """Milliseconds a step spends on the layers' private copies of their inputs.

    Every layer that needs its input in backward keeps a copy of it, so that a
    caller changing the input array in place cannot change the gradient. In this
    network that is the input of each Linear and each Activation layer.
    """
    model, x, _ = build_gradlab(dtype)
    sizes = []
    h = x
    for layer in model.layers:
        sizes.append(h.shape)
        h = layer.forward(h)
    inputs = [np.ones(shape, dtype=dtype) for shape in sizes]

    def copies():
        for a in inputs:
            a.copy()

    (ms,) = median_ms([copies], repeats, warmup)
    return ms, len(inputs), sum(a.nbytes for a in inputs) / 2**20


def peak_mib(step):
    """Peak memory numpy allocates during one call of ``step``, in MiB (tracemalloc)."""
    import tracemalloc

    step()  # buffers that persist between steps are allocated once, outside the count
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def blas_threads():
    """Threads numpy's BLAS may use (threadpoolctl if present, else the env, else cores)."""
    try:
        from threadpoolctl import threadpool_info

        nums = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        if nums:
            return max(nums)
    except ImportError:
        pass
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return os.cpu_count() or 1


ROOT = Path(__file__).resolve().parent.parent
CHAPTER_BUDGET_S = 30.0


def numbered_chapters():
    """The chapter files of ``_toc.yml``, in order."""
    from toc import numbered_chapters as files

    return [ROOT / f"{name}.md" for name in files(ROOT)]


def chapter_seconds(path):
    """Wall-clock seconds to execute one chapter in a fresh kernel, as the build does."""
    import tempfile

    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    old = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="bench-ipython-") as ipython_dir:
        # As in tools/build.py: a private IPython folder that keeps the kernel's
        # loopback-transport notice off the terminal.
        profile = Path(ipython_dir) / "profile_default"
        profile.mkdir()
        (profile / "ipython_kernel_config.py").write_text("c.IPKernelApp.log_level = 'ERROR'\n")
        # the kernel inherits the environment of this process
        os.environ.update({"SOURCE_DATE_EPOCH": "1767225600", "PYTHONHASHSEED": "0",
                           "IPYTHONDIR": ipython_dir, "OPENBLAS_NUM_THREADS": "1",
                           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
        try:
            t0 = time.perf_counter()
            client.execute()
            return time.perf_counter() - t0
        finally:
            os.environ.clear()
            os.environ.update(old)


def repository_copy(dest: Path) -> Path:
    """The files git tracks or would track, as in the working tree (node_modules shared)."""
    import shutil
    import subprocess

    names = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    for name in filter(None, names):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    (dest / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    return dest


def timed_build(book: Path, *extra) -> tuple[float, str]:
    import subprocess
    import sys

    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(book / "tools" / "build.py"), str(book), *extra],
                            capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"the build failed:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    return seconds, result.stdout


def build_report(book: Path) -> None:
    """Cold build against the chapters' own compute; rebuilds with nothing changed and a prose edit."""
    import re

    cold, log = timed_build(book, "--fresh")
    executed = re.search(r"build: executed (\d+) notebook\(s\) in parallel in ([\d.]+) s: (.*)", log)
    per = dict(re.findall(r"([\w.-]+\.md) ([\d.]+) s", executed.group(3))) if executed else {}
    compute = sum(float(v) for v in per.values())
    print(f"cold build (--fresh)           {cold:7.1f} s; the notebooks' own compute {compute:.1f} s, "
          f"executed in parallel in {float(executed.group(2)) if executed else 0:.1f} s; "
          f"ratio cold / compute {cold / compute if compute else float('nan'):.2f}; "
          f"budget 1.2 x compute + 20 s = {1.2 * compute + 20:.1f} s")
    for name, seconds in sorted(per.items()):
        print(f"    {name:<28} {float(seconds):6.1f} s (two at a time)")
    same, _ = timed_build(book)
    print(f"rebuild, nothing changed       {same:7.1f} s (budget 3 s)")
    chapter = book / "chapters" / "01-depth.md"
    text = chapter.read_text()
    # a new paragraph before the chapter's second section: prose only, wherever the text moves
    cut = text.index("\n(sec-", text.index("\n(sec-") + 1)
    edited = text[:cut] + "\nA sentence the benchmark adds, to time a prose edit.\n" + text[cut:]
    assert edited != text
    chapter.write_text(edited)
    prose, log = timed_build(book)
    read = len(re.findall(r"reading sources\.\.\. ", log))
    print(f"rebuild after a prose edit     {prose:7.1f} s (budget 5 s); pages read again: {read}; "
          f"executed again: {'none' if 'executed' not in log else 'some'}")


def site_report(html: Path, lighthouse_runs: int) -> None:
    """Transferred bytes of every chapter page by kind, figure sizes, Lighthouse scores."""
    import statistics
    import tempfile

    from playwright.sync_api import sync_playwright

    import site_audit

    server = site_audit.serve(html)
    pages = sorted(html.glob("chapters/[0-9][0-9]-*.html"))
    kinds = ("html", "styles", "scripts", "fonts", "figures")
    total = sum(p.stat().st_size for p in html.rglob("*") if p.is_file())
    print(f"\nsite: {total / 1e6:.2f} MB in all (10^6 bytes; budget 10 MB)")
    print(f"{'page (KB on the wire)':<28}" + "".join(f"{k:>9}" for k in kinds) + f"{'w/o figures':>13}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=site_audit.CHROMIUM, args=site_audit.FLAGS)
        for page in pages:
            sizes = site_audit.page_weight(browser, server.url + page.relative_to(html).as_posix())
            own = sum(v for k, v in sizes.items() if k != "figures")
            print(f"{page.name:<28}" + "".join(f"{sizes.get(k, 0) / 1024:9.1f}" for k in kinds)
                  + f"{own / 1024:13.1f}" + ("  OVER 250" if own > 250 * 1024 else ""))
        browser.close()
    if lighthouse_runs:
        print(f"\nLighthouse, mobile preset, median of {lighthouse_runs} run(s) (performance target 95)")
        print(f"{'page':<28}{'perf':>6}{'FCP s':>8}{'LCP s':>8}{'TBT ms':>8}{'a11y':>6}{'bp':>5}{'seo':>5}")
        with tempfile.TemporaryDirectory() as scratch:
            for page in pages:
                url = server.url + page.relative_to(html).as_posix()
                runs = [site_audit.lighthouse(url, Path(scratch) / f"{page.stem}-{i}.json",
                                              "performance") for i in range(lighthouse_runs)]
                other = site_audit.lighthouse(url, Path(scratch) / f"{page.stem}-other.json",
                                              "accessibility,best-practices,seo")["categories"]

                def median(audit):
                    return statistics.median(r["audits"][audit]["numericValue"] for r in runs)

                perf = statistics.median(100 * r["categories"]["performance"]["score"] for r in runs)
                print(f"{page.name:<28}{perf:6.0f}{median('first-contentful-paint') / 1000:8.2f}"
                      f"{median('largest-contentful-paint') / 1000:8.2f}{median('total-blocking-time'):8.0f}"
                      + "".join(f"{100 * other[c]['score']:>{w}.0f}"
                                for c, w in (("accessibility", 6), ("best-practices", 5), ("seo", 5))))
    server.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--no-step", action="store_true", help="skip the training-step comparison")
    ap.add_argument("--no-chapters", action="store_true", help="skip the chapter timings")
    ap.add_argument("--no-build", action="store_true", help="skip the build timings and the site report")
    ap.add_argument("--lighthouse-runs", type=int, default=3, help="Lighthouse runs per page (0: none)")
    args = ap.parse_args(argv)
    if not args.no_step:
        step_report(args)
    if not args.no_chapters:
        print(f"\nchapter execution, one at a time (fresh kernel, kernel start included; "
              f"budget {CHAPTER_BUDGET_S:.0f} s)")
        for path in numbered_chapters():
            seconds = chapter_seconds(path)
            flag = "" if seconds <= CHAPTER_BUDGET_S else "  OVER BUDGET"
            print(f"{path.relative_to(ROOT)!s:<32} {seconds:6.1f} s{flag}")
    if not args.no_build:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="bench-book-") as scratch:
            book = repository_copy(Path(scratch) / "book")
            print("\nbuilds of a copy of the repository")
            build_report(book)
            site_report(book / "_build" / "html", args.lighthouse_runs)


def step_report(args):
    try:
        import torch
    except ImportError:
        torch = None
    threads = blas_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    print(f"training step: depth {DEPTH}, width {WIDTH}, batch {BATCH}, ReLU, SGD; "
          f"median of {args.repeats} after {args.warmup} warm-up; {threads} thread(s)")
    print(f"numpy {np.__version__}" + (f", torch {torch.__version__}" if torch else ", torch not installed"))
    print(f"{'dtype':<8} {'gradlab ms':>11} {'torch ms':>9} {'ratio':>6} {'gradlab peak MiB':>17}")
    for dtype in (np.float64, np.float32):
        step = gradlab_step(dtype)
        if torch is not None:
            g, t = median_ms([step, torch_step(torch, dtype)], args.repeats, args.warmup)
            print(f"{np.dtype(dtype).name:<8} {g:11.2f} {t:9.2f} {g / t:6.2f} {peak_mib(step):17.1f}")
        else:
            (g,) = median_ms([step], args.repeats, args.warmup)
            print(f"{np.dtype(dtype).name:<8} {g:11.2f} {'-':>9} {'-':>6} {peak_mib(step):17.1f}")
    print("\nprivate copies of layer inputs (what makes backward safe from in-place edits)")
    for dtype in (np.float64, np.float32):
        ms, count, mib = copy_ms(dtype, args.repeats, args.warmup)
        (step_ms,) = median_ms([gradlab_step(dtype)], args.repeats, args.warmup)
        print(f"{np.dtype(dtype).name:<8} {count} arrays, {mib:.1f} MiB, {ms:.2f} ms per step "
              f"= {100 * ms / step_ms:.1f} % of the step")


if __name__ == "__main__":
    main()
