"""Run the ``jupyter-book`` command line, then leave at once.

Once a build has written the site, the interpreter still spends a second or more
tearing down what the build loaded (the environment, the doctrees, the modules of
every extension) before the process ends: a tenth of a rebuild after a prose edit.
Nothing is left to write by then (the site, the doctrees, the environment and the
execution cache are on disk, the Node.js helpers have stopped), so this flushes
the output and ends the process without the teardown. ``tools/build.py`` runs the
build through it; the arguments are those of ``jupyter-book``.
"""

import os
import sys

from jupyter_book.cli.main import main

if __name__ == "__main__":
    try:
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
