"""The import graph follows ARCHITECTURE.md: imports point down the layer table only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "summarizer"


def layers() -> dict[str, int]:
    """Top-level module of the package -> layer, read from ARCHITECTURE.md's table."""
    table: dict[str, int] = {}
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for match in re.finditer(r"^\| (\d+) \| ([^|]+)\|", text, re.M):
        for name in re.findall(r"`([\w]+)`", match.group(2)):
            table[name] = int(match.group(1))
    return table


def top_module(path: Path) -> str:
    """`summarizer/_engines/llm.py` -> `_engines`; `summarizer/_client.py` -> `_client`."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(imported top-level module, line) for every `summarizer.*` import, lazy ones too."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "summarizer":
                names = [alias.name for alias in node.names]
            elif node.module.startswith("summarizer."):
                names = [node.module.split(".")[1]]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith("summarizer.")]
        found += [(name, node.lineno) for name in names]
    return found


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_on_the_map() -> None:
    table = layers()
    missing = sorted({top_module(p) for p in modules()} - set(table))
    assert not missing, f"modules missing from ARCHITECTURE.md's layer table: {missing}"


def test_the_map_names_no_module_that_is_gone() -> None:
    present = {top_module(p) for p in modules()}
    stale = sorted(set(layers()) - present)
    assert not stale, f"ARCHITECTURE.md lists modules that do not exist: {stale}"


def test_no_import_points_up_or_sideways() -> None:
    table = layers()
    wrong = []
    for path in modules():
        source = top_module(path)
        for target, line in imports_of(path):
            if target not in table or target == source:
                continue
            if table[target] >= table[source]:
                where = f"{path.relative_to(ROOT)}:{line}"
                wrong.append(
                    f"{where} imports {target} (layer {table[target]}) from layer {table[source]}"
                )
    assert not wrong, "imports against the arrow:\n" + "\n".join(wrong)


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from summarizer._cli import main\n")
    assert imports_of(module) == [("_cli", 2)]
