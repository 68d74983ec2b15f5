"""Put a computed value into the book's text: ``glue``, without the book's build tools.

The chapters insert the numbers their cells compute into the prose with myst-nb's
``{glue:text}`` role. The role reads a cell output that carries the value under a
name (the *scrapbook* protocol: the output's metadata names the value, and its
MIME types are prefixed so that the notebook does not show them). This module
writes that output itself, so a chapter downloaded as a notebook runs with gradlab
and IPython alone, and in the book the role finds the value as before.
"""

from . import _validate as _v

__all__ = ["glue"]

#: Prefix of the MIME types of a value that is stored but not displayed (myst-nb's).
HIDDEN_PREFIX = "application/papermill.record/"


def glue(name, value, display=True):
    """Store ``value`` under ``name`` for the page's ``{glue:text}`` roles.

    The output is the value's IPython display data with metadata
    ``{"scrapbook": {"name": name, "mime_prefix": prefix}}``, as myst-nb's own
    ``glue`` writes it; with ``display=False`` every MIME type is prefixed with
    ``application/papermill.record/`` so that the notebook does not show it.
    Outside IPython (a plain ``python`` run) there is nowhere to put the value and
    nothing happens.

    Parameters
    ----------
    name : str
        The name by which the text refers to the value in a ``{glue:text}`` role.
    value : object
        Anything IPython can display (a number, a string, a figure).
    display : bool, default True
        Also show the value in the notebook.

    Examples
    --------
    >>> glue("answer", 42, display=False)  # outside IPython: nothing to do
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    display = _v.boolean(display, "display")
    try:
        from IPython import get_ipython
        from IPython.core.formatters import format_display_data
        from IPython.display import display as ipython_display
    except ImportError:  # no IPython: no notebook to write into
        return
    if get_ipython() is None:
        return
    bundle, metadata = format_display_data(value)
    prefix = "" if display else HIDDEN_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipython_display({prefix + key: data for key, data in bundle.items()}, raw=True, metadata=metadata)
