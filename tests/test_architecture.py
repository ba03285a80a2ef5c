"""The layering cannot regress: the pure core stays pure, and no import cycle exists anywhere in the project.

- ``lint-imports`` (import-linter) checks the contracts in ``.importlinter``: ``cobro/`` imports nothing from the
  hosts (``cobro_cli``, ``server``, ``addin``), the stores (``sync``), the template builder, nor any package that
  touches files, sockets or workbooks (Flask, click, openpyxl, calamine, smtplib, sqlite3, sockets, …).
- An import graph built here from every module's source (imports inside functions included) has no cycle.
- The core reads no clock and opens no file: a scan of its source for the calls that would.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cobro", "cobro_cli", "sync", "addin", "sheets_templates")
MODULES = ("server",)


def _module_files() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    for mod in MODULES:
        out[mod] = ROOT / f"{mod}.py"
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()

    def add(target: str) -> None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.add(target)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                add(full if full in known else module)
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (anywhere in its source)."""
    files = _module_files()
    known = set(files)
    return {name: _imports(name, path, known) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_no_import_cycle_anywhere() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_cycle_finder_finds_one() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_core_imports_no_host_or_store() -> None:
    graph = import_graph()
    bad = {m: sorted(t for t in deps if not t.startswith("cobro.") and t != "cobro")
           for m, deps in graph.items() if m == "cobro" or m.startswith("cobro.")}
    assert not {m: d for m, d in bad.items() if d}


def test_import_linter_contracts() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    proc = subprocess.run([exe, str(ROOT / ".importlinter")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# What would read a clock or touch a file, by the name it is called with.
_FORBIDDEN_CALLS = {
    ("datetime", "now"), ("datetime", "today"), ("datetime", "utcnow"), ("date", "today"), ("time", "time"),
    ("time", "monotonic"), ("time", "perf_counter"), ("os", "open"), ("os", "remove"), ("os", "replace"),
    ("os", "listdir"), ("os", "getenv"), ("Path", "open"), ("pd", "read_excel"), ("pd", "read_csv"),
}
_FORBIDDEN_NAMES = {"open", "input", "print"}
_FORBIDDEN_METHODS = {"read_text", "read_bytes", "write_text", "write_bytes", "to_excel", "to_csv", "mkdir",
                      "unlink", "iterdir", "glob"}


def test_core_reads_no_clock_and_opens_no_file() -> None:
    offences = []
    for name, path in _module_files().items():
        if not (name == "cobro" or name.startswith("cobro.")):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Name) and f.id in _FORBIDDEN_NAMES:
                offences.append(f"{path.name}:{node.lineno} {f.id}()")
            elif isinstance(f, ast.Attribute):
                owner = f.value
                owner_name = owner.id if isinstance(owner, ast.Name) else (
                    owner.attr if isinstance(owner, ast.Attribute) else "")
                if (owner_name, f.attr) in _FORBIDDEN_CALLS or f.attr in _FORBIDDEN_METHODS:
                    offences.append(f"{path.name}:{node.lineno} {owner_name}.{f.attr}()")
    assert not offences, "the core must not read a clock or touch a file: " + ", ".join(offences)
