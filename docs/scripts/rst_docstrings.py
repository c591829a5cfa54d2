"""A griffe extension: the reST bits of lrsched's docstrings, as Markdown for mkdocstrings.

The docstrings are Google style (rendered by mkdocstrings) with reST ``.. math::`` blocks,
``:math:`...``` roles and bare ``>>>`` doctests, which Markdown would show as raw text and
quote blocks. This rewrites them, for the docs only, into ``$$`` blocks and ``$...$`` for
pymdownx.arithmatex and ``pycon`` code fences; the docstrings themselves stay as they are,
so ``help()`` and the doctests see the originals.
"""

from __future__ import annotations

import re
from pathlib import Path

import griffe

_ROLE = re.compile(r":math:`([^`]+)`")
_DIRECTIVE = ".. math::"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _math_blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.lstrip()
        if not stripped.startswith(_DIRECTIVE):
            out.append(line)
            index += 1
            continue
        margin = " " * _indent(line)
        body = [stripped[len(_DIRECTIVE) :].strip()]
        index += 1
        # The directive's content: following lines indented deeper than the directive.
        while index < len(lines) and lines[index].strip() and _indent(lines[index]) > len(margin):
            body.append(lines[index].strip())
            index += 1
        out.extend(
            ["", margin + "$$", *(margin + part for part in body if part), margin + "$$", ""]
        )
    return out


def _doctest_fences(lines: list[str]) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.lstrip().startswith(">>>"):
            out.append(line)
            index += 1
            continue
        margin = " " * _indent(line)
        out.extend(["", margin + "```pycon"])
        # A doctest runs until the first blank line, as in doctest itself.
        while index < len(lines) and lines[index].strip():
            out.append(lines[index])
            index += 1
        out.extend([margin + "```", ""])
    return out


def to_markdown(text: str) -> str:
    """The docstring text with math and doctests in Markdown form."""
    lines = _doctest_fences(_math_blocks(text.splitlines()))
    return _ROLE.sub(lambda match: f"${match.group(1)}$", "\n".join(lines))


class RstDocstrings(griffe.Extension):
    """Rewrite each docstring once the object tree is loaded."""

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)


def _is_frozen_family(cls: griffe.Class) -> bool:
    return any(str(decorator.value) == "frozen" for decorator in cls.decorators)


def _default(attribute: griffe.Attribute):
    """The constructor default of a dataclass field, or None if it has none."""
    value = attribute.value
    if value is None:
        return None
    text = str(value)
    if text == "function_field()":
        return None  # a required user function
    if text.startswith("function_field(") and text.endswith(")"):
        return text[len("function_field(") : -1]
    return value


class FrozenFamilies(griffe.Extension):
    """Give each ``@frozen`` family the ``__init__`` its dataclass decorator generates.

    Griffe synthesizes ``__init__`` for ``@dataclasses.dataclass`` only; lrsched's families
    use a small ``frozen`` wrapper of it, so their signatures would otherwise be empty.
    """

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        for module in pkg.modules.values():
            for member in module.members.values():
                if member.is_alias or not member.is_class or not _is_frozen_family(member):
                    continue
                parameters = [
                    griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)
                ]
                for attribute in member.attributes.values():
                    if attribute.annotation is None or (
                        "class-attribute" in attribute.labels
                        and "instance-attribute" not in attribute.labels
                    ):
                        continue
                    parameters.append(
                        griffe.Parameter(
                            attribute.name,
                            annotation=attribute.annotation,
                            kind=griffe.ParameterKind.positional_or_keyword,
                            default=_default(attribute),
                        )
                    )
                init = griffe.Function(
                    "__init__",
                    lineno=0,
                    endlineno=0,
                    parent=member,
                    parameters=griffe.Parameters(*parameters),
                    returns="None",
                )
                member.set_member("__init__", init)


class MappedAdapters(griffe.Extension):
    """Load ``adapters/`` as ``lrsched.adapters``, as the package-dir mapping installs it.

    The wheel and editable installs put the folder at ``lrsched.adapters``; griffe reads
    the checkout's files, where ``lrsched/`` has no ``adapters`` folder, so without this
    the API reference could not find ``lrsched.adapters.torch`` in a fresh clone.
    """

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs) -> None:
        if pkg.name != "lrsched" or "adapters" in pkg.members:
            return
        init = Path(pkg.filepath).parent.parent / "adapters" / "__init__.py"
        # griffe has no public call that loads a folder under another package's name; the
        # docs extra pins griffe, so this private one stays put.
        adapters = loader._load_module("adapters", init, parent=pkg)
        pkg.set_member("adapters", adapters)
        loader.expand_exports(adapters)
