"""Every public name of gradlab is documented with an example and guarded against bad input.

Each test module that owns public names lists its bad-input cases in a module-level
``BAD_INPUT_CASES`` list of ``(qualified_name, call, exception, message_regex)``
tuples. This test reads those lists from the test sources (without importing the
test modules) and checks that they, and the docstrings, cover ``__all__``.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
from pathlib import Path

import pytest

import gradlab

TESTS = Path(__file__).resolve().parent


def public_names() -> list[str]:
    names = []
    for module_name in gradlab.__all__:
        module = importlib.import_module(f"gradlab.{module_name}")
        assert hasattr(module, "__all__"), f"gradlab.{module_name} has no __all__"
        names += [f"gradlab.{module_name}.{name}" for name in module.__all__]
    return names


@functools.cache  # parsing every test file once, not once per public name
def bad_input_names() -> frozenset[str]:
    covered = set()
    for path in TESTS.glob("test_*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "BAD_INPUT_CASES" for t in node.targets
            ):
                for element in ast.walk(node.value):
                    if (isinstance(element, ast.Tuple) and element.elts
                            and isinstance(element.elts[0], ast.Constant)
                            and isinstance(element.elts[0].value, str)):
                        covered.add(element.elts[0].value)
    return frozenset(covered)


def resolve(qualified: str):
    module_name, _, name = qualified.rpartition(".")
    return getattr(importlib.import_module(module_name), name)


def test_every_module_lists_public_names():
    assert len(public_names()) > 40


@pytest.mark.parametrize("qualified", public_names())
def test_public_name_has_a_docstring_example(qualified):
    obj = resolve(qualified)
    doc = inspect.getdoc(obj) or ""
    assert ">>>" in doc, f"{qualified} has no docstring example"


@pytest.mark.parametrize("qualified", public_names())
def test_public_name_has_a_bad_input_test(qualified):
    assert qualified in bad_input_names(), f"{qualified} has no case in any BAD_INPUT_CASES"


def test_bad_input_cases_name_real_objects():
    unknown = [name for name in bad_input_names() if name.startswith("gradlab.")
               and name not in set(public_names())]
    assert unknown == []
