"""Walk the AST of every module of ``agent/``, ``model/`` and ``envs/`` and check the house rules.

Counts every import, the ones inside functions too, so a deferred import cannot hide a cycle:

* no import cycle between modules;
* the vocabulary (``agent.core``) imports nothing of the project above it, nor heavy I/O
  libraries (Playwright, torch, transformers);
* ``envs`` and ``model`` import ``agent`` only through ``agent.core``, and not each other;
* the rooms of ``agent`` point one way (``RULES``: safety below the episode machinery, that
  below suites / replay / evaluation, the CLI on top), as the README's "Where things live"
  table says;
* the rooms that judge, score, export or serve (``NO_ENVS``: safety, evaluation, export,
  serve) see an env only through ``agent.core`` (the Env ABC, the neutral UI tree), never
  ``envs``; the entry points that build envs (commands, CLI, the episode runner, interfaces,
  replay, suites, calibration) may.

``python tools/check_imports.py`` prints each breach and exits 1; ``--graph`` prints the
module graph. ``tests/test_layers.py`` runs the same checks.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agent", "model", "envs")
CORE = "agent.core"
ABOVE_EPISODE = (
    "agent.suites",
    "agent.replay",
    "agent.record",
    "agent.train",
    "agent.evaluation",
    "agent.serve",
    "agent.calibration",
    "agent.interfaces",
    "agent.export",
    "agent.commands",
    "agent.cli",
)
# rooms of ``agent`` that must not import ``envs`` (agent.core is held to agent.core alone)
NO_ENVS = ("agent.safety", "agent.evaluation", "agent.export", "agent.serve")
# (importing package, packages it must not import)
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("envs", ("model",)),
    ("model", ("envs",)),
    *((room, ("envs",)) for room in NO_ENVS),
    ("agent.safety", ("agent.episode", *ABOVE_EPISODE)),
    ("agent.episode", ABOVE_EPISODE),
    ("agent.suites", ("agent.commands", "agent.cli", "agent.serve")),
    ("agent.replay", ("agent.commands", "agent.cli", "agent.serve")),
    ("agent.record", ("agent.commands", "agent.cli", "agent.serve", "agent.train")),
    ("agent.train", ("agent.commands", "agent.cli", "agent.serve", "agent.record")),
    ("agent.evaluation", ("agent.commands", "agent.cli", "agent.serve")),
    ("agent.serve", ("agent.commands", "agent.cli", "agent.episode")),
    ("agent.interfaces", ("agent.commands", "agent.cli", "agent.serve")),
    ("agent.export", ("agent.commands", "agent.cli", "agent.serve", "agent.interfaces")),
)
HEAVY = ("playwright", "torch", "transformers", "mss", "adbutils", "rapidocr", "fastapi")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            found[module_name(path, root)] = path
    return found


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(name: str, path: Path, known: Iterable[str]) -> Iterator[tuple[str, int]]:
    """(imported name, line) for every import in the file, at any depth; for ``from X import
    y`` the module ``X.y`` when it exists, else ``X``."""
    known = set(known)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, is_package, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub if sub in known else base), node.lineno


def project_target(imported: str, known: set[str]) -> str | None:
    """The project module an import lands in (the longest known prefix), or None."""
    parts = imported.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in known:
            return cand
        parts.pop()
    return None


def graph(root: Path = ROOT) -> tuple[dict[str, set[str]], list[Edge], list[tuple[str, str, int]]]:
    mods = modules(root)
    known = set(mods)
    adj: dict[str, set[str]] = {m: set() for m in mods}
    edges: list[Edge] = []
    external: list[tuple[str, str, int]] = []
    for name, path in mods.items():
        for imported, line in imports_of(name, path, known):
            target = project_target(imported, known)
            if target is None:
                external.append((name, imported, line))
            elif target != name:
                adj[name].add(target)
                edges.append(Edge(name, target, line))
    return adj, edges, external


def cycles(adj: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(adj):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(adj[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(adj[nxt]))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp: list[str] = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def breaches(root: Path = ROOT) -> list[str]:
    adj, edges, external = graph(root)
    found = [f"import cycle: {' -> '.join(c)}" for c in cycles(adj)]
    for e in edges:
        if _in(e.source, CORE) and not _in(e.target, CORE):
            found.append(f"{e.source}:{e.line} the vocabulary imports {e.target}")
        top = e.source.split(".")[0]
        if top in ("envs", "model") and _in(e.target, "agent") and not _in(e.target, CORE):
            found.append(f"{e.source}:{e.line} imports {e.target} (envs/model use agent.core)")
        for source, banned in RULES:
            if _in(e.source, source) and any(_in(e.target, b) for b in banned):
                found.append(f"{e.source}:{e.line} imports {e.target} (against the layers)")
    for source, imported, line in external:
        if _in(source, CORE) and imported.split(".")[0] in HEAVY:
            found.append(f"{source}:{line} the vocabulary imports {imported}")
    return list(dict.fromkeys(found))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--graph", action="store_true", help="print the module graph")
    args = ap.parse_args(argv)
    if args.graph:
        adj, _, _ = graph()
        for m in sorted(adj):
            print(m, "->", ", ".join(sorted(adj[m])) or "-")
    found = breaches()
    for line in found:
        print(line)
    print(f"{len(modules())} modules, {len(found)} breach(es)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
