"""Mutation testing of the critical modules: ``make mutation`` (``python -m mutation``).

For each target module, cosmic-ray (a real mutation-testing tool) applies one mutation at a
time (operators flipped, constants changed, conditions negated, ...) and runs the tests that
guard that module; a mutant the tests do not fail on has *survived*. The run happens in a
throw-away copy of the repository, so the working tree is never mutated even if the run is
killed half-way.

Usage::

    python -m mutation                      # every target, every mutant
    python -m mutation risk_rules --sample 150 --seed 1
    python -m mutation --list

The kill rate per module, and why each surviving mutant survives, is in docs/TESTING.md.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Target:
    """A module under mutation and the tests that must kill its mutants."""

    module: str
    tests: tuple[str, ...]
    timeout_s: float = 300.0


# The critical modules of the issue tracker's mutation requirement: the execution arithmetic
# and backtest kernel, the validation statistics, the risk rules, the journal's audit chain.
TARGETS: dict[str, Target] = {
    "execution": Target(
        "src/crypto_strategy_lab/core/execution.py",
        ("tests/core", "tests/backtest", "tests/exchanges/test_simulated.py"),
    ),
    "backtest_kernel": Target("src/crypto_strategy_lab/backtest/kernel.py", ("tests/backtest",)),
    "sharpe": Target(
        "src/crypto_strategy_lab/validation/sharpe.py",
        ("tests/validation/test_sharpe.py", "tests/validation/test_sharpe_domain.py"),
    ),
    "pbo": Target("src/crypto_strategy_lab/validation/pbo.py", ("tests/validation/test_pbo.py",)),
    "walk_forward": Target(
        "src/crypto_strategy_lab/validation/walk_forward.py",
        ("tests/validation/test_splits.py", "tests/validation/test_walk_forward.py"),
    ),
    "splits": Target(
        "src/crypto_strategy_lab/validation/splits.py",
        ("tests/validation/test_splits.py", "tests/validation/test_walk_forward.py"),
    ),
    "metrics": Target(
        "src/crypto_strategy_lab/performance/metrics.py",
        ("tests/performance",),
    ),
    "risk_rules": Target("src/crypto_strategy_lab/risk/rules.py", ("tests/risk",)),
    "risk_sizing": Target("src/crypto_strategy_lab/risk/sizing.py", ("tests/risk",)),
    "journal_audit": Target(
        "src/crypto_strategy_lab/journal/audit.py",
        ("tests/journal", "tests/engine/test_audit_trail.py"),
    ),
}

_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "reports",
    "mutants",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "*.sqlite",
    "site",
)


def _copy_repo(dest: Path) -> Path:
    work = dest / "repo"
    shutil.copytree(REPO, work, ignore=_IGNORE, symlinks=True)
    return work


# every mutant is judged by a fresh pytest process that stops at the first failure
_PYTEST = ("-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly")


def _test_command(target: Target) -> list[str]:
    return [sys.executable, *_PYTEST, *target.tests]


def _config(work: Path, target: Target) -> Path:
    command = " ".join(_test_command(target))
    cfg = work / "cosmic-ray.toml"
    cfg.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{target.module}"\n'
        f"timeout = {target.timeout_s}\n"
        "excluded-modules = []\n"
        f'test-command = "{command}"\n\n'
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )
    return cfg


def _annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions of every type annotation in a module.

    With ``from __future__ import annotations`` an annotation is never evaluated, so a mutant
    inside one (``float | None`` -> ``float ^ None``) is equivalent by construction: counting it
    would only dilute the kill rate.
    """
    spans = []
    for node in ast.walk(ast.parse(source)):
        notes = []
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            notes.append(node.returns)
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            notes.extend(arg.annotation for arg in every if arg is not None)
        elif isinstance(node, ast.AnnAssign):
            notes.append(node.annotation)
        spans.extend(
            ((n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)) for n in notes if n
        )
    return spans


def _drop(db: sqlite3.Connection, jobs: list[str]) -> None:
    rows = [(j,) for j in jobs]
    db.executemany("DELETE FROM mutation_specs WHERE job_id = ?", rows)
    db.executemany("DELETE FROM work_items WHERE job_id = ?", rows)


def _drop_annotation_mutants(session: Path, module: Path) -> int:
    """Remove the mutants that sit inside type annotations; returns how many."""
    spans = _annotation_spans(module.read_text())
    with sqlite3.connect(session) as db:
        rows = db.execute("SELECT job_id, start_pos_row, start_pos_col FROM mutation_specs")
        inside = [job for job, row, col in rows if any(a <= (row, col) < b for a, b in spans)]
        _drop(db, inside)
    return len(inside)


def _sample(session: Path, n: int, seed: int) -> int:
    """Keep a deterministic random sample of ``n`` mutants in the session; returns the total.

    Job ids are random per ``cosmic-ray init``, so the mutants are ordered by what they are
    (operator, occurrence, position): the same seed on the same source picks the same sample.
    """
    with sqlite3.connect(session) as db:
        jobs = [
            row[0]
            for row in db.execute(
                "SELECT job_id FROM mutation_specs ORDER BY operator_name, occurrence,"
                " start_pos_row, start_pos_col, end_pos_row, end_pos_col"
            )
        ]
        if n >= len(jobs):
            return len(jobs)
        keep = set(random.Random(seed).sample(jobs, n))
        _drop(db, [j for j in jobs if j not in keep])
    return len(jobs)


def _outcomes(work: Path, session: Path) -> list[dict]:
    dump = subprocess.run(
        [_tool("cosmic-ray"), "dump", str(session)],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in dump.stdout.splitlines():
        item, result = json.loads(line)
        rows.append({"item": item, "result": result})
    return rows


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    if not exe.exists():
        raise SystemExit(f"{name} is not installed: pip install -e '.[test,dev]'")
    return str(exe)


def run_target(name: str, target: Target, sample: int | None, seed: int) -> dict:
    """Mutate one module in a scratch copy of the repository and count killed mutants."""
    with tempfile.TemporaryDirectory(prefix=f"csl-mutation-{name}-") as tmp:
        work = _copy_repo(Path(tmp))
        cfg = _config(work, target)
        session = work / "session.sqlite"
        env = {**os.environ, "PYTHONPATH": str(work / "src") + os.pathsep + str(work)}
        subprocess.run(
            [_tool("cosmic-ray"), "init", str(cfg), str(session)], cwd=work, env=env, check=True
        )
        _drop_annotation_mutants(session, work / target.module)
        total = _sample(session, sample, seed) if sample else None
        started = time.perf_counter()
        subprocess.run(
            [_tool("cosmic-ray"), "exec", str(cfg), str(session)], cwd=work, env=env, check=True
        )
        rows = _outcomes(work, session)
    counts = {"killed": 0, "survived": 0, "incompetent": 0, "timeout": 0}
    survivors = []
    for row in rows:
        res = row["result"] or {}
        outcome = res.get("test_outcome")
        worker = res.get("worker_outcome")
        if worker == "timeout":
            counts["timeout"] += 1  # a mutant that hangs the tests is detected too
        elif outcome == "killed":
            counts["killed"] += 1
        elif outcome == "survived":
            counts["survived"] += 1
            survivors.append(res.get("diff", ""))
        else:
            counts["incompetent"] += 1
    tried = counts["killed"] + counts["survived"] + counts["timeout"]
    kill_rate = (counts["killed"] + counts["timeout"]) / tried if tried else float("nan")
    return {
        "target": name,
        "module": target.module,
        "mutants": len(rows),
        "of_total": total or len(rows),
        **counts,
        "kill_rate": kill_rate,
        "seconds": time.perf_counter() - started,
        "survivors": survivors,
    }


def recheck_survivors(name: str, target: Target, diffs: list[str]) -> dict:
    """Apply each surviving mutant's diff (from an earlier ``--json``) and run the tests again.

    After tests are added, this says which survivors they now kill without drawing and running
    the whole sample again; a mutant whose diff no longer applies (the source changed) is
    counted as ``stale``.
    """
    counts = {"killed": 0, "survived": 0, "stale": 0}
    survivors = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"csl-mutation-{name}-") as tmp:
        work = _copy_repo(Path(tmp))
        env = {**os.environ, "PYTHONPATH": str(work / "src") + os.pathsep + str(work)}
        for diff in diffs:
            # cosmic-ray's diff starts with a "--- mutation diff ---" banner line
            patch = diff.split("\n", 1)[1] if diff.startswith("--- mutation diff") else diff
            patch = patch.rstrip("\n") + "\n"  # cosmic-ray's diffs end without a newline
            apply = ["git", "apply", "--recount", "-p1"]
            if subprocess.run(
                [*apply, "--check", "-"], cwd=work, input=patch, text=True, capture_output=True
            ).returncode:
                counts["stale"] += 1
                continue
            subprocess.run([*apply, "-"], cwd=work, input=patch, text=True, check=True)
            try:
                tests = subprocess.run(
                    _test_command(target),
                    cwd=work,
                    env=env,
                    capture_output=True,
                    timeout=target.timeout_s,
                )
                killed = tests.returncode != 0
            except subprocess.TimeoutExpired:
                killed = True  # a mutant that hangs the tests is detected too
            finally:
                subprocess.run([*apply, "-R", "-"], cwd=work, input=patch, text=True, check=True)
            counts["killed" if killed else "survived"] += 1
            if not killed:
                survivors.append(diff)
    return {
        "target": name,
        **counts,
        "seconds": time.perf_counter() - started,
        "survivors": survivors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", help="target names (default: all)")
    parser.add_argument("--sample", type=int, default=None, help="mutants per target (random)")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument(
        "--recheck",
        type=Path,
        default=None,
        help="re-run the tests on the survivors recorded in this --json file instead",
    )
    args = parser.parse_args(argv)
    if args.list:
        for name, t in TARGETS.items():
            print(f"{name:16s} {t.module}  <- {' '.join(t.tests)}")
        return 0
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        print(f"unknown target(s): {', '.join(unknown)}; see --list", file=sys.stderr)
        return 2
    if args.recheck:
        return _recheck(args)
    results = []
    for name in args.targets or list(TARGETS):
        target = TARGETS[name]
        if not (REPO / target.module).exists():
            print(f"{name}: {target.module} does not exist, skipped", file=sys.stderr)
            continue
        res = run_target(name, target, args.sample, args.seed)
        results.append(res)
        print(
            f"{name:16s} mutants {res['mutants']:4d} (of {res['of_total']})"
            f" killed {res['killed']:4d}"
            f" timeout {res['timeout']:3d} survived {res['survived']:3d}"
            f" incompetent {res['incompetent']:3d}  kill rate {res['kill_rate']:.1%}"
            f"  ({res['seconds']:.0f} s)",
            flush=True,
        )
        for diff in res["survivors"]:
            print("  survived:\n    " + diff.strip().replace("\n", "\n    "))
        if args.json:  # after every target: a long run killed half-way keeps what it measured
            args.json.write_text(json.dumps(results, indent=2))
    return 0


def _recheck(args: argparse.Namespace) -> int:
    results = []
    for earlier in json.loads(args.recheck.read_text()):
        name = earlier["target"]
        if args.targets and name not in args.targets:
            continue
        res = recheck_survivors(name, TARGETS[name], earlier["survivors"])
        results.append(res)
        print(
            f"{name:16s} survivors {len(earlier['survivors']):3d} now killed {res['killed']:3d}"
            f" survived {res['survived']:3d} stale {res['stale']:3d}  ({res['seconds']:.0f} s)",
            flush=True,
        )
        for diff in res["survivors"]:
            print("  survived:\n    " + diff.strip().replace("\n", "\n    "))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
