"""docs/internals.md says what the code is: its module table names every module of
`publisher/` (a file, or the folder holding it), names nothing that is gone, and every
name in its "public surface" column exists where the row says. Every module declares
its public names in `__all__`, and each of them exists."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "publisher"
INTERNALS = ROOT / "docs" / "internals.md"
_ROW = re.compile(r"^\| (`[^|]+`) \| [^|]+ \| ([^\n]*) \|$", re.M)
_TICKED = re.compile(r"`([^`]+)`")


def _rows() -> list[tuple[list[str], list[str]]]:
    """(paths, public names) of each row of the module table."""
    rows = []
    for paths, surface in _ROW.findall(INTERNALS.read_text()):
        rows.append((_TICKED.findall(paths), _TICKED.findall(surface)))
    assert len(rows) > 20, "the module table was not found in docs/internals.md"
    return rows


def _modules() -> list[str]:
    """Every module of the package, as a path under publisher/ (no package faces)."""
    return sorted(
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*.py")
        if p.name not in ("__init__.py", "__main__.py") and "__pycache__" not in p.parts
    )


def test_the_module_table_names_every_module_and_nothing_that_is_gone() -> None:
    named = [path for paths, _ in _rows() for path in paths]
    for path in named:
        assert (PACKAGE / path).exists(), f"docs/internals.md names {path}, which is gone"
    files = {p for p in named if p.endswith(".py")}
    folders = tuple(p for p in named if p.endswith("/"))
    missing = [m for m in _modules() if m not in files and not m.startswith(folders)]
    assert missing == [], f"docs/internals.md's module table does not name {missing}"


def _module_name(path: str) -> str:
    return "publisher." + path.removesuffix(".py").rstrip("/").replace("/", ".")


def _has(module: str, name: str) -> bool:
    """Whether `name` (maybe dotted: a submodule or a class, then an attribute) is found
    from `module` (a package: any of its modules)."""
    target = importlib.import_module(module)
    first, *rest = name.split(".")
    candidates = [target]
    if hasattr(target, "__path__"):  # a folder: the name may live in any of its modules
        for sub in sorted(Path(target.__path__[0]).rglob("*.py")):
            rel = sub.relative_to(PACKAGE).with_suffix("").as_posix().replace("/", ".")
            candidates.append(importlib.import_module("publisher." + rel.removesuffix(".__init__")))
    for found in candidates:
        for attempt in (first, f"{found.__name__}.{first}"):
            value: object = getattr(found, first, None)
            if value is None and attempt != first:
                try:
                    value = importlib.import_module(attempt)
                except ImportError:
                    value = None
            for part in rest:
                value = getattr(value, part, None)
            if value is not None:
                return True
    # a dotted name from another module of the package (`config.ConfigError`)
    if rest:
        try:
            value = importlib.import_module(f"publisher.{first}")
        except ImportError:
            return False
        for part in rest:
            value = getattr(value, part, None)
        return value is not None
    return False


@pytest.mark.parametrize("paths,names", _rows(), ids=lambda v: v[0] if isinstance(v, list) else "")
def test_every_public_name_in_the_table_exists(paths: list[str], names: list[str]) -> None:
    if any(p.startswith(("cli.py", "commands/")) for p in paths):
        return  # entry points: their row names commands, not attributes
    for shown in names:
        name = re.sub(r"\(.*\)$", "", shown).strip()
        if not re.fullmatch(r"[A-Za-z_][\w.]*", name):
            continue  # prose in backticks (a field, a setting), not a name
        where = [_module_name(p) for p in paths]
        assert any(_has(m, name) for m in where), f"docs/internals.md: {paths} has no {name}"


@pytest.mark.parametrize("path", [*_modules(), "__init__.py"])
def test_every_module_declares_its_public_names(path: str) -> None:
    source = (PACKAGE / path).read_text()
    tree = ast.parse(source)
    declared = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and any(
            isinstance(t, ast.Name) and t.id == "__all__"
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
    ]
    assert declared, f"publisher/{path} has no __all__"
    module = importlib.import_module(_module_name(path).removesuffix(".__init__"))
    for name in module.__all__:
        assert hasattr(module, name), f"publisher/{path}: __all__ names {name}, which is not there"


def test_the_backend_skeleton_has_the_whole_protocol() -> None:
    """docs/examples/mastodon.py, the skeleton "Adding a backend" points to, type-checks
    against `backends.Backend` (mypy shares the cache of the CI's own run: quick)."""
    from mypy import api

    out, err, status = api.run([str(ROOT / "docs" / "examples" / "mastodon.py")])
    assert status == 0, out + err
