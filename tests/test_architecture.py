"""The layering of the package: no module imports upward, and module-level imports form no cycle.

Layers, lowest first: the shared helpers and ``features`` (audio -> numbers), the extraction driver,
``models``/``selection``/``nn`` (tables -> runs), then the interfaces (``cli``, ``demo``, ``report``).
Checked on the source with :mod:`ast`, so no module is imported.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import featurelab

PACKAGE = Path(featurelab.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Module -> the featurelab modules it imports: (at module level, anywhere)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    top: dict[str, set[str]] = defaultdict(set)
    anywhere: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
                # ``from . import x`` names the submodule x, not the package itself
                targets = [c for c in candidates[1:] if c in modules] or [target]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                if target in modules and target != name:
                    anywhere[name].add(target)
                    if node in tree.body:
                        top[name].add(target)
    return top, anywhere


def test_no_module_imports_upward():
    _, anywhere = _imports()
    interfaces = ("featurelab.cli", "featurelab.demo", "featurelab.report", "featurelab.__main__")
    upward = []
    for module, targets in anywhere.items():
        for target in targets:
            if target.startswith(interfaces) and not module.startswith(interfaces):
                upward.append(f"{module} -> {target}")
            if module.startswith("featurelab.features") and target.startswith(
                ("featurelab.models", "featurelab.selection", "featurelab.extraction")
            ):
                upward.append(f"{module} -> {target}")
    assert not upward, upward


def test_module_level_imports_have_no_cycle():
    top, _ = _imports()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(top[module]):
            if state.get(target) == 1:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(top):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles
