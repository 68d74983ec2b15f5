"""gradlab.book.glue writes exactly the output that myst-nb's own glue writes.

Both run in one real kernel; myst-nb, the book's build tool, is the oracle.
"""

import nbformat
import pytest
from nbclient import NotebookClient

from gradlab import book

CELLS = [
    "from gradlab.book import glue as ours\nfrom myst_nb import glue as theirs",
    "ours('shown', 0.125)",
    "theirs('shown', 0.125)",
    "ours('hidden', [1, 2], display=False)",
    "theirs('hidden', [1, 2], display=False)",
]


@pytest.fixture(scope="module")
def outputs():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    return [cell.outputs for cell in notebook.cells]


def test_glue_matches_myst_nb_for_a_shown_value(outputs):
    assert outputs[1] == outputs[2]
    assert outputs[1][0]["metadata"]["scrapbook"] == {"name": "shown", "mime_prefix": ""}
    assert outputs[1][0]["data"]["text/plain"] == "0.125"


def test_glue_matches_myst_nb_for_a_hidden_value(outputs):
    assert outputs[3] == outputs[4]
    assert set(outputs[3][0]["data"]) == {book.HIDDEN_PREFIX + "text/plain"}


BAD_INPUT_CASES = [
    ("gradlab.book.glue", lambda: book.glue("", 1), TypeError, "name must be a non-empty str"),
    ("gradlab.book.glue", lambda: book.glue("x", 1, display="no"), TypeError, "display must be True or False"),
]


@pytest.mark.parametrize("name, call, exc, match", BAD_INPUT_CASES, ids=[c[0] for c in BAD_INPUT_CASES])
def test_bad_input(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()
