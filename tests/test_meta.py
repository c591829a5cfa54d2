"""The package's promises about itself: light import, documented public names."""

import ast
import inspect
import json
import math
import pickle
import subprocess
import sys

import pytest

import lrsched
from lrsched._registry import families

HEAVY = ("torch", "keras", "jax", "matplotlib", "hypothesis", "tensorflow", "scipy")


def test_import_lrsched_imports_only_numpy():
    code = (
        "import sys, lrsched, lrsched.cli\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import lrsched pulled in: {out.stdout.strip()}"


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout


def test_import_lrsched_defers_families_until_first_use():
    # What `import lrsched` adds to what `import numpy` imports: the families, combinators
    # and config reader (and dataclasses, fractions, decimal, which they need) come later.
    schedule = lrsched.warmup(lrsched.one_cycle(0.1, 100), steps=10) * 0.5
    code = (
        # __future__ (compiler flags) comes with lrsched's `from __future__ import ...`
        # unless something loaded it first, as an editable install's finder does.
        "import __future__, json, math, pickle, sys, numpy\n"
        "before = set(sys.modules)\n"
        "import lrsched\n"
        "added = sorted(set(sys.modules) - before)\n"
        "value = lrsched.cosine(0.1, 100)(50)\n"
        "try:\n"
        "    lrsched.from_config({'type': 'nope'})\n"
        "except ValueError as error:\n"
        "    known = str(error).split('valid types: ')[1].split(', ')\n"
        f"rebuilt = repr(lrsched.from_config({schedule.to_config()!r}))\n"
        f"parsed = repr(lrsched.parse({repr(schedule)!r}))\n"
        f"unpickled = repr(pickle.loads({pickle.dumps(schedule)!r}))\n"
        "print(json.dumps([added, value, known, rebuilt, parsed, unpickled]))\n"
    )
    added, value, known, rebuilt, parsed, unpickled = json.loads(_run(code))
    assert set(added) <= {
        "lrsched",
        "lrsched._base",
        "lrsched._registry",
        "lrsched._validation",
        "lrsched._evaluate",
        "lrsched._ops",
        "lrsched._user",
    }, added
    assert math.isclose(value, 0.05)  # half way down a half cosine from 0.1 to 0
    library = sorted(
        name for name, cls in families().items() if cls.__module__.startswith("lrsched.")
    )
    assert known == library  # only cosine was touched, yet from_config knows every family
    assert rebuilt == parsed == unpickled == repr(schedule)


def test_every_lazy_name_is_imported_for_type_checkers_from_the_same_module():
    # The TYPE_CHECKING block in lrsched/__init__.py is what type checkers, IDEs and the API
    # docs read; __getattr__ serves the same names at run time from _LAZY.
    tree = ast.parse(inspect.getsource(lrsched))
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    imported = {alias.name: node.module for node in block.body for alias in node.names}
    assert imported == lrsched._LAZY
    for name, cls in families().items():
        if cls.__module__.startswith("lrsched."):
            assert lrsched._LAZY[name] == cls.__module__, name


def test_families_loads_every_module_that_defines_a_family():
    import importlib

    from lrsched import _registry

    # The one table lists every family class each module defines, and only those.
    for module, names in _registry.FAMILY_MODULES.items():
        defined = {
            name
            for name, obj in vars(importlib.import_module(module)).items()
            if isinstance(obj, type)
            and issubclass(obj, lrsched._base.ValueObject)
            and obj.__module__ == module
            and not name.startswith("_")
            and name[0].islower()
        }
        assert defined == set(names), module


def test_all_is_sorted_and_complete():
    assert lrsched.__all__ == sorted(lrsched.__all__)
    assert set(lrsched.__all__) == {
        "ArgumentError",
        "ArgumentTypeError",
        "Route",
        "Schedule",
        "StepTable",
        "Tail",
        "register_family",
        "register_function",
        *lrsched._LAZY,
    }
    assert set(lrsched.__all__) <= set(dir(lrsched))
    namespace = {}
    exec("from lrsched import *", namespace)
    for name in lrsched.__all__:
        assert namespace[name] is getattr(lrsched, name), name
    for name in families():
        assert name in lrsched.__all__, f"family {name} is not exported"


def _public_objects():
    for name in lrsched.__all__:
        if name in ("plot", "range_test"):  # need extras; documented in their own modules
            continue
        yield name, getattr(lrsched, name)


@pytest.mark.parametrize(
    "name, obj", list(_public_objects()), ids=[name for name, _ in _public_objects()]
)
def test_public_name_has_summary_and_example(name, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    summary = doc.splitlines()[0]
    assert summary.endswith("."), f"{name}: summary line should be a sentence: {summary!r}"
    if (inspect.isclass(obj) and name in families()) or inspect.isfunction(obj):
        assert ">>>" in doc, f"{name} has no runnable example"


@pytest.mark.parametrize("name", sorted(families()))
def test_family_docstring_documents_its_arguments(name):
    cls = families()[name]
    doc = inspect.getdoc(cls)
    assert "Args:" in doc, f"{name} docstring has no Args section"
    for parameter in inspect.signature(cls).parameters:
        assert f"{parameter}:" in doc, f"{name} docstring does not describe {parameter}"
    assert ".. math::" in doc or ":math:" in doc, f"{name} docstring has no formula"


def test_validation_module_documents_every_helper():
    from lrsched import validation

    for name in validation.__all__:
        obj = getattr(validation, name)
        if name in ("ArgumentError", "ArgumentTypeError"):
            assert obj is getattr(lrsched, name)
            continue
        doc = inspect.getdoc(obj)
        assert doc and doc.splitlines()[0].endswith("."), name
        assert ">>>" in doc and "lrsched import validation" in doc, name
