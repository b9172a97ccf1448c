"""The checker behind "nothing private outside textual_compat" (tests/test_textual_compat.py): a
module of pislm_tui may not import from a private Textual or Rich module, use `x._name` on
anything but its own objects, use a `self._name` that no pislm class of its own defines (an
attribute Textual's base class set), or override a private Textual method.

"Its own" for `self._name`: names the module defines, and names defined by the pislm classes
its classes are made of, so that the mixins of one widget (tabs/chat.py's ChatTab is
ChatActions + ChatModels + Widget) may use each other's names: every pislm class in the MRO of
the module's classes, and, for a mixin (a class with no Textual or Rich base), every pislm
class that combines it, with their MROs. What Textual or Rich define never counts."""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import textwrap
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "pislm_tui"
THEIRS = ("textual", "rich")
OURS = "pislm_tui"


def module_of(path: Path) -> ModuleType:
    return importlib.import_module(
        f"{OURS}." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    )


@functools.cache
def _import_every_module() -> None:
    """The classes that combine a mixin may live in modules nobody imported yet."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "__main__.py":
            module_of(path)


def _theirs(cls: type) -> bool:
    return cls.__module__.split(".")[0] in THEIRS


def _ours(cls: type) -> bool:
    return cls.__module__.split(".")[0] == OURS


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    todo = [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def module_classes(module: ModuleType) -> list[type]:
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__
    ]


def family(module: ModuleType) -> set[type]:
    """The pislm classes whose names the module's classes may use on `self` (see above)."""
    _import_every_module()
    combined: set[type] = set()
    for cls in module_classes(module):
        combined.add(cls)
        if not any(_theirs(base) for base in cls.__mro__):  # a mixin
            combined |= {sub for sub in _subclasses(cls) if _ours(sub)}
    return {base for cls in combined for base in cls.__mro__ if _ours(base)}


def defined_by(cls: type) -> set[str]:
    """What a pislm class defines itself: its methods and class attributes, and what its methods
    set on `self` (or `cls`)."""
    names = set(vars(cls))
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):  # made at run time: only what it holds
        return names
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            names.add(node.attr)
    return names


def private_uses(source: str, module: ModuleType) -> list[str]:
    """Every private Textual or Rich use in `source` (the text of `module`)."""
    tree = ast.parse(source)
    found: list[str] = []
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            own.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
        elif isinstance(node, ast.Name):
            own.add(node.id)
    on_self = own | {name for cls in family(module) for name in defined_by(cls)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(THEIRS) and "._" in f".{node.module}":
                found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            if node.attr.startswith("__"):
                continue
            base = node.value
            on_own_object = isinstance(base, ast.Name) and base.id in ("self", "cls")
            if not on_own_object or node.attr not in on_self:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    found.extend(private_overrides(module))
    return found


def private_overrides(module: ModuleType) -> list[str]:
    """Private Textual or Rich methods the module's classes override, also through a class that
    combines a mixin of the module."""
    _import_every_module()
    found: list[str] = []
    for cls in module_classes(module):
        users = {cls} | {sub for sub in _subclasses(cls) if _ours(sub)}
        for name in vars(cls):
            if not name.startswith("_") or name.startswith("__"):
                continue
            for user in sorted(users, key=lambda c: c.__qualname__):
                mro = user.__mro__
                base = next(
                    (
                        base
                        for base in mro[mro.index(cls) + 1 :]
                        if _theirs(base) and callable(vars(base).get(name))
                    ),
                    None,
                )
                if base is not None:
                    found.append(f"{cls.__name__}.{name} overrides {base.__name__}.{name}")
                    break
    return found
