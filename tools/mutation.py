"""Mutation testing of the modules whose bugs are silent: run mutmut, print the score per module.

A test suite that passes says nothing about the bugs it would miss. mutmut plants small bugs
(mutants: ``<`` for ``<=``, a dropped ``not``, another constant) one at a time in the modules
below and runs the fast unit tests that reach each changed function; a mutant the tests do not
notice ("survived") is a behaviour nobody checks. The modules are the ones where a wrong answer
looks like a right one: the coordinate contract, the action parsers, the safety gate and its
policy, the secret store and the recorder. mutmut's settings (which files, which tests) live in
``[tool.mutmut]`` of pyproject.toml; its work and results in ``mutants/``.

``python tools/mutation.py`` runs mutmut, re-checks the survivors of earlier runs against the
current tests (mutmut keeps a verdict until the function's source changes), prints the table
and exits 1 when fewer than ``--threshold`` percent of the mutants were killed. ``--module
gate`` runs one module (the inner loop); ``--fresh`` drops every cached verdict first;
``--report`` only prints the table of the last run; ``--survivors`` lists the surviving
mutants (``mutmut show NAME`` shows one).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
# module name -> the source files it covers (globs, relative to the repository root)
MODULES: dict[str, tuple[str, ...]] = {
    "coords": ("agent/core/coords.py",),
    "parsers": ("model/parsers/*.py",),
    "gate": ("agent/safety/gate.py",),
    "policy": ("agent/safety/policy.py", "agent/safety/urls.py"),
    "secrets": ("agent/safety/secrets.py",),
    "recording": ("agent/episode/recording.py",),
}
# mutmut's exit-code -> verdict table (mutmut/stats.py), folded into the table's columns
KILLED = {1, 3, 37}  # a failing test, an internal pytest error, caught by the type checker
SURVIVED = {0}
TIMEOUT = {36, 24, -24, 152, 255}
NO_TESTS = {5, 33}
PRAGMA = re.compile(r"#\s*pragma:\s*no mutate")


@dataclass
class Row:
    """Verdicts of one module's mutants."""

    name: str
    total: int = 0
    killed: int = 0
    survived: int = 0
    timeout: int = 0
    no_tests: int = 0
    other: int = 0  # not checked yet, skipped, suspicious, segfault
    pragmas: int = 0

    def add(self, code: int | None) -> None:
        self.total += 1
        if code in KILLED:
            self.killed += 1
        elif code in SURVIVED:
            self.survived += 1
        elif code in TIMEOUT:
            self.timeout += 1
        elif code in NO_TESTS:
            self.no_tests += 1
        else:
            self.other += 1

    @property
    def score(self) -> float:
        """Percent of mutants killed (a timeout counts as not killed: the test hung, it did not
        say no)."""
        return 100.0 * self.killed / self.total if self.total else 100.0


def module_files(names: Iterable[str]) -> dict[str, list[Path]]:
    """{module: its source files, sorted}; an unknown module name is an error."""
    out: dict[str, list[Path]] = {}
    for name in names:
        if name not in MODULES:
            raise SystemExit(f"unknown module {name!r}: choose from {', '.join(MODULES)}")
        files = sorted({p for pattern in MODULES[name] for p in ROOT.glob(pattern)})
        out[name] = [p.relative_to(ROOT) for p in files]
    return out


def mutant_glob(path: Path) -> str:
    """mutmut's name pattern for every mutant of one file (``model.parsers.common.*``; an
    ``__init__.py``'s mutants are named after the package)."""
    dotted = ".".join(path.with_suffix("").parts)
    return dotted.removesuffix(".__init__") + ".*"


def verdicts(path: Path) -> dict[str, int | None]:
    """{mutant name: mutmut exit code} from ``mutants/<path>.meta``; {} before the first run."""
    meta = MUTANTS / f"{path}.meta"
    if not meta.exists():
        return {}
    data = json.loads(meta.read_text())
    codes: dict[str, int | None] = data.get("exit_code_by_key", {})
    return codes


def table(files: dict[str, list[Path]]) -> tuple[list[Row], Row]:
    """One row per module (a module of several files is followed by a row per file,
    indented) and the overall row."""
    rows: list[Row] = []
    overall = Row("overall")
    for module, paths in files.items():
        total = Row(module)
        parts: list[Row] = []
        for path in paths:
            label = f"  {path}" if len(paths) > 1 else f"{module} ({path})"
            row = Row(label, pragmas=len(PRAGMA.findall((ROOT / path).read_text())))
            for code in verdicts(path).values():
                for r in (row, total, overall):
                    r.add(code)
            total.pragmas += row.pragmas
            parts.append(row)
        overall.pragmas += total.pragmas
        rows += [total, *parts] if len(paths) > 1 else parts
    return rows, overall


def print_table(rows: list[Row], overall: Row) -> None:
    head = ("module", "total", "killed", "survived", "timeout", "no tests", "killed %", "pragmas")
    width = max(len(r.name) for r in [*rows, overall])
    line = f"{{:<{width}}} " + " ".join("{:>8}" for _ in head[1:])
    print(line.format(*head))
    for r in [*rows, overall]:
        if r is overall:
            print("-" * (width + 9 * (len(head) - 1)))
        cells = (r.total, r.killed, r.survived, r.timeout, r.no_tests, f"{r.score:.1f}", r.pragmas)
        print(line.format(r.name, *cells))


def survivors(files: dict[str, list[Path]]) -> list[str]:
    """Names of the mutants not killed (survived, timed out, or reached by no test)."""
    return sorted(
        name
        for paths in files.values()
        for path in paths
        for name, code in verdicts(path).items()
        if code not in KILLED
    )


def mutmut(args: list[str]) -> int:
    """Run ``mutmut ARGS`` in the repository root (mutmut reads pyproject.toml there)."""
    return subprocess.call([sys.executable, "-m", "mutmut", *args], cwd=ROOT)


def run(files: dict[str, list[Path]], max_children: int, whole: bool) -> None:
    """``mutmut run`` (every module, or only the chosen ones' mutants), then re-check earlier
    survivors: mutmut keeps a verdict until the function changes, so a test written since
    would otherwise not count."""
    jobs = ["--max-children", str(max_children)]
    globs = [mutant_glob(p) for paths in files.values() for p in paths]
    before = set(survivors(files))
    if mutmut(["run", *jobs] if whole else ["run", *jobs, *globs]) != 0:
        raise SystemExit("mutmut run failed (its output is above)")
    again = sorted(before & set(survivors(files)))
    if whole and again and mutmut(["run", *jobs, *again]) != 0:
        raise SystemExit("mutmut run of the earlier survivors failed (its output is above)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", choices=list(MODULES), help="repeatable")
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutant workers")
    parser.add_argument("--threshold", type=float, default=90.0, help="percent killed to pass")
    parser.add_argument("--fresh", action="store_true", help="drop mutants/ (every verdict)")
    parser.add_argument("--report", action="store_true", help="print the last run's table")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants")
    args = parser.parse_args(argv)
    files = module_files(args.module or list(MODULES))
    started = time.monotonic()
    if args.fresh and MUTANTS.exists():
        shutil.rmtree(MUTANTS)
    if not args.report and not args.survivors:
        run(files, args.max_children, whole=not args.module)
        print(f"\nmutation run took {time.monotonic() - started:.0f} s")
    rows, overall = table(files)
    if args.survivors:
        print("\n".join(survivors(files)))
        return 0
    print()
    print_table(rows, overall)
    if overall.total == 0:
        print("no mutant results: run `make mutation` first")
        return 1
    if overall.score < args.threshold:
        print(f"\n{overall.score:.1f} % killed, below the {args.threshold:.0f} % goal")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
