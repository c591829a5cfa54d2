"""The package's promises about itself: light import, documented public names."""

import ast
import importlib.util
import inspect
import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

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


# Where lrsched.adapters is imported from: the checkout's adapters/ (editable install) or
# the installed wheel's lrsched/adapters/ (the suite also runs against the wheel).
ADAPTERS = Path(importlib.util.find_spec("lrsched.adapters").submodule_search_locations[0])
# The private parts of the core the adapters still reach, each for a reason, so that the
# list can only shrink: the test fails on a new one and on one that is gone.
PRIVATE_CORE_USES_LEFT = {
    # The range test's state machine, driven by fit's batch callbacks instead of a loop.
    ("_range_test_callback.py", "lrsched._range_test._Ramp"),
}


def _is_private_core(dotted: str) -> bool:
    parts = dotted.split(".")
    if parts[0] != "lrsched" or parts[1:2] == ["adapters"]:
        return False  # not the core, or the adapters' own helper modules
    # Underscored names are private; dunders (__all__, __version__) are Python's public ones.
    return any(part.startswith("_") and not part.endswith("__") for part in parts[1:])


def _private_core_uses(source: str) -> set[str]:
    """The core's underscored modules and names a module imports or reads as attributes:
    ``import lrsched._x``, ``from lrsched._x import y``, ``from lrsched import _x``,
    ``from lrsched.validation import _y``, and ``lrsched._x`` / ``check._y`` on a name
    bound to a core module."""
    tree = ast.parse(source)
    modules: dict[str, str] = {}  # local name -> the core module it is bound to
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                used.add(alias.name)
                if alias.name.startswith("lrsched"):
                    local = alias.asname or alias.name.split(".")[0]
                    modules[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                used.add(dotted)
                if node.module.startswith("lrsched"):
                    modules[alias.asname or alias.name] = dotted
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
        ):
            used.add(f"{modules[node.value.id]}.{node.attr}")
    return {dotted for dotted in used if _is_private_core(dotted)}


def test_the_import_check_finds_every_way_to_reach_a_private_part():
    source = (
        "import lrsched, lrsched._ops, lrsched.adapters._tables\n"
        "from lrsched import _validation as check, validation\n"
        "from lrsched._plateau import _state_from_dict\n"
        "from lrsched.validation import fail, _is_bool\n"
        "from lrsched.adapters._param_groups import param_groups\n"
        "from . import _local\n"
        "lrsched._LAZY, lrsched.cosine, validation._is_bool, validation.fail\n"
    )
    assert _private_core_uses(source) == {
        "lrsched._ops",
        "lrsched._validation",
        "lrsched._plateau._state_from_dict",
        "lrsched.validation._is_bool",
        "lrsched._LAZY",
    }


def test_adapters_use_only_the_public_core():
    # Adapters are thin bindings over the public API, which users' own bindings can use
    # the same way; only their helpers in lrsched.adapters._* are theirs to share.
    found = {
        (path.name, dotted)
        for path in sorted(ADAPTERS.glob("*.py"))
        for dotted in _private_core_uses(path.read_text(encoding="utf-8"))
    }
    assert not found - PRIVATE_CORE_USES_LEFT, "new private imports of the core"
    assert not PRIVATE_CORE_USES_LEFT - found, "no longer used: remove from the list"


def test_validation_module_documents_every_helper():
    from lrsched import validation

    for name in validation.__all__:
        obj = getattr(validation, name)
        doc = inspect.getdoc(obj)
        assert doc and doc.splitlines()[0].endswith("."), name
        assert ">>>" in doc and "lrsched import validation" in doc, name


# Raised on purpose as the built-in type: the traced namespace makes `if array:` inside a
# formula fail the way any Python branch on a tensor fails while tracing.
BUILTIN_RAISES_LEFT = {("_traced.py", "TypeError")}


def _builtin_raises(source: str) -> list[str]:
    """The built-in argument error types ``source`` raises directly."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(raised, ast.Name) and raised.id in ("ValueError", "TypeError"):
                found.append(raised.id)
    return found


def test_the_builtin_error_finder_finds_them():
    source = "raise ValueError('x')\nraise TypeError\nraise check.ArgumentError('y')\n"
    assert _builtin_raises(source) == ["ValueError", "TypeError"]


def test_errors_are_lrsched_types_everywhere():
    # One error type: callers branch on lrsched.ArgumentError (a ValueError) and
    # ArgumentTypeError (a TypeError), whichever module refused the call.
    core = Path(lrsched.__file__).parent
    found = {
        (path.name, name)
        for path in [*sorted(core.rglob("*.py")), *sorted(ADAPTERS.glob("*.py"))]
        for name in _builtin_raises(path.read_text(encoding="utf-8"))
    }
    assert found == BUILTIN_RAISES_LEFT
