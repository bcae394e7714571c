"""The rooms and the arrows: which module may import which (docs/architecture.md).

Read from the source with ``ast``, so a wrong arrow fails here rather than in review.
Imports under ``if TYPE_CHECKING:`` are types only and do not count; imports inside
functions (kept there so start-up stays cheap) count for the layering rules but not
for cycles, which only module-level imports can create at import time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_latency_sla"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(module-level imports, all imports) of a module, TYPE_CHECKING blocks left out."""
    module = _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top: set[str] = set()
    every: set[str] = set()

    def visit(node: ast.AST, level: int) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child, level)
            return
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node, path.name == "__init__.py")
            names = [target]
            # ``from . import ort`` imports the submodule.
            names += [f"{target}.{alias.name}" for alias in node.names]
        for name in names:
            every.add(name)
            if level == 0:
                top.add(name)
        inner = level + isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for inner_node in ast.iter_child_nodes(node):
            visit(inner_node, inner)

    visit(tree, 0)
    return top, every


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _ours(names: set[str]) -> set[str]:
    return {n for n in names if n in MODULES}


def test_no_import_cycle_at_import_time() -> None:
    edges = {name: _ours(top) - {name} for name, (top, _) in GRAPH.items()}
    # A package's __init__ importing its own submodules is how a package exports.
    for name in edges:
        edges[name] = {t for t in edges[name] if not (t.startswith(name + ".") and name in t)}
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in edges[node]:
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                walk(target)
        stack.pop()
        state[node] = 2

    for name in edges:
        if name not in state:
            walk(name)


#: The pure core: no pytest, no onnxruntime, nothing of the glue or the reports.
CORE = (
    "pytest_latency_sla.plan",
    "pytest_latency_sla.stats",
    "pytest_latency_sla.sampling",
    "pytest_latency_sla.paired",
    "pytest_latency_sla.gitref",
    "pytest_latency_sla.modelfiles",
    "pytest_latency_sla.revision",
    "pytest_latency_sla.schema",
    "pytest_latency_sla.schemacheck",
    "pytest_latency_sla.fmt",
    "pytest_latency_sla.result",
    "pytest_latency_sla.baseline",
    "pytest_latency_sla.gate",
    "pytest_latency_sla.renamed",
    "pytest_latency_sla.merge",
    "pytest_latency_sla.saving",
    "pytest_latency_sla.settings",
    "pytest_latency_sla.conflicts",
    "pytest_latency_sla.marker",
    "pytest_latency_sla.runner",
    "pytest_latency_sla.isolate",
    "pytest_latency_sla.leftovers",
    "pytest_latency_sla.isolate_onnx",
    "pytest_latency_sla.advise",
    "pytest_latency_sla.advise_onnx",
    "pytest_latency_sla.cold",
    "pytest_latency_sla.sweep",
    "pytest_latency_sla.environment",
    "pytest_latency_sla.exclusive",
    "pytest_latency_sla.messages",
    "pytest_latency_sla.alone",
    "pytest_latency_sla.progressline",
    "pytest_latency_sla.ledger",
    "pytest_latency_sla.levelshift",
    "pytest_latency_sla.checkmessages",
    "pytest_latency_sla.load",
    "pytest_latency_sla.loadspec",
    "pytest_latency_sla.loadgen",
    "pytest_latency_sla.loadledger",
    "pytest_latency_sla.loadheld",
    "pytest_latency_sla.capacity",
    "pytest_latency_sla.limits",
    "pytest_latency_sla.followups",
    "pytest_latency_sla.callables",
    "pytest_latency_sla.filekind",
)
GLUE = (
    "pytest_latency_sla.plugin",
    "pytest_latency_sla.fixture",
    "pytest_latency_sla.inconclusive",
    "pytest_latency_sla.session",
    "pytest_latency_sla.bench",
    "pytest_latency_sla.workers",
    "pytest_latency_sla.spill",
    "pytest_latency_sla.subtests",
    "pytest_latency_sla.progress",
    "pytest_latency_sla.collected",
    "pytest_latency_sla.unknownkeys",
    "pytest_latency_sla.timeouts",
)


@pytest.mark.parametrize("module", CORE)
def test_the_core_knows_nothing_of_pytest_or_the_glue(module: str) -> None:
    _, every = GRAPH[module]
    assert not {n for n in every if n == "pytest" or n.startswith("_pytest")}, module
    assert not {n for n in every if n in GLUE}, module
    assert not {n for n in every if n.startswith("pytest_latency_sla.report")}, module


@pytest.mark.parametrize("module", ["pytest_latency_sla.cli", "pytest_latency_sla.__main__"])
def test_the_command_line_runs_without_pytest(module: str) -> None:
    _, every = GRAPH[module]
    assert not {n for n in every if n == "pytest" or n.startswith("_pytest")}, module
    assert not {n for n in every if n in GLUE}, module


@pytest.mark.parametrize("module", ["pytest_latency_sla.stats", "pytest_latency_sla.sampling"])
def test_sampling_and_statistics_know_nothing_of_onnxruntime(module: str) -> None:
    _, every = GRAPH[module]
    assert not {n for n in every if n.startswith(("onnxruntime", "onnx", "pytest_latency_sla.ort"))}


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("pytest_latency_sla.ort")])
def test_the_onnx_adapter_knows_nothing_of_pytest(module: str) -> None:
    _, every = GRAPH[module]
    assert not {n for n in every if n == "pytest" or n in GLUE}, module


@pytest.mark.parametrize(
    "module", [m for m in MODULES if m.startswith("pytest_latency_sla.report")]
)
def test_reports_read_records_and_nothing_else(module: str) -> None:
    _, every = GRAPH[module]
    allowed_outside = {
        "pytest_latency_sla",
        "pytest_latency_sla.fmt",
        "pytest_latency_sla.schema",
    }
    ours = {n for n in _ours(every) if not n.startswith("pytest_latency_sla.report")}
    assert ours <= allowed_outside, f"{module} imports {sorted(ours - allowed_outside)}"
    assert "pytest" not in every


def test_no_module_is_much_over_500_lines() -> None:
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 520
    }
    assert not long


def test_every_module_says_its_one_concern_first() -> None:
    for name, path in MODULES.items():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc, f"{name} has no docstring"
        assert doc.splitlines()[0].strip(), f"{name} has no first docstring line"
