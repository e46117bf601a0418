"""Audit benchmark: ``csl audit verify`` on the journal of a replay, in events per second.

    python -m benchmarks audit                        # journal of a 100,000-bar replay
    CSL_BENCH_AUDIT_BARS=20000 CSL_BENCH_AUDIT_REPEAT=3 python -m benchmarks audit

The journal is written by the engine benchmark's full trading loop (``benchmarks.engine``:
simulated venue, risk engine, journal and exchange audit events, equity every 1,000 bars).
Timed, interleaved ``CSL_BENCH_AUDIT_REPEAT`` (default 5) times so both see the same load:

* ``verify_audit_chain`` (what ``csl audit verify`` runs): SQLite's fast pass, with
  ``integrity_check`` in a second thread;
* the exact pass alone (the previous implementation: the storage check, then every link and
  every record compared in Python), which ``verify_audit_chain`` falls back to.

Printed: events/s of each, best and median (wall, and per CPU second of the process, all
threads: less sensitive to a loaded machine), the ratio of the two and against the goal of
100,000 events/s, with the 1-minute load average; then where the journal's bytes go per bar
and per order (:func:`size_breakdown`).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.engine import _bars, _TrendSignal, replay
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.journal.audit import (
    _chain_problems,
    _check_records,
    verify_audit_chain,
)
from crypto_strategy_lab.journal.integrity import check_storage

GOAL = 100_000  # events/s (issue 16)


def _exact(journal: Journal) -> int:
    """The exact pass, as ``csl audit verify`` ran it before the fast pass."""
    check_storage(journal.engine, thorough=True)
    with journal.engine.connect() as conn:
        check = _chain_problems(conn)
        check.written_once_problems()
        _check_records(conn, check)
    assert not check.problems, check.problems[:3]
    return check.n_events


def _fast(journal: Journal) -> int:
    report = verify_audit_chain(journal.engine)
    assert report.ok, report.problems[:3]
    return report.n_events


def size_breakdown(path: Path, n_bars: int) -> list[str]:
    """Where a journal's bytes go, per bar and per order: each table with its indexes
    (SQLite's ``dbstat``), and the audit events by kind, their table and index pages shared
    out in proportion to each row's stored size (payload, hashes, index entries)."""
    with sqlite3.connect(path) as conn:
        try:
            pages = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
        except sqlite3.OperationalError:  # a SQLite built without dbstat
            return ["(no size breakdown: this SQLite has no dbstat table)"]
        owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type='index'"))
        n_orders = max(conn.execute("SELECT count(*) FROM orders").fetchone()[0], 1)
        tables: dict[str, int] = {}
        for name, size in pages:
            tables[owner.get(name, name)] = tables.get(owner.get(name, name), 0) + size
        kinds = conn.execute(
            "SELECT kind, count(*), sum(length(payload) + length(kind) + 2 * length(prev_hash)"
            " + 2 * length(hash) + 2 * coalesce(length(entity_table) + length(entity_key), 0)"
            " + coalesce(length(run_id), 0) + 26) FROM audit_events GROUP BY kind"
        ).fetchall()
    total = sum(tables.values())
    lines = [
        f"journal {total:,} bytes: {total / n_bars:,.0f} per bar, {total / n_orders:,.0f} per "
        f"order ({n_orders:,} orders); tables with their indexes:"
    ]
    for name, size in sorted(tables.items(), key=lambda item: -item[1])[:8]:
        lines.append(
            f"  {name:<28} {size / total:6.1%}  {size / n_bars:8.1f} B/bar  "
            f"{size / n_orders:8,.0f} B/order"
        )
    audit, stored = tables.get("audit_events", 0), sum(k[2] for k in kinds) or 1
    lines.append("audit events by kind (count, bytes per row, per bar, per order):")
    for kind, count, size in sorted(kinds, key=lambda k: -k[2]):
        share = audit * size / stored
        lines.append(
            f"  {kind:<28} {count:8,}  {share / count:6,.0f} B/row  {share / n_bars:8.1f} B/bar  "
            f"{share / n_orders:8,.0f} B/order"
        )
    return lines


def main() -> None:
    n_bars = int(os.environ.get("CSL_BENCH_AUDIT_BARS", "100000"))
    repeat = int(os.environ.get("CSL_BENCH_AUDIT_REPEAT", "5"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "replay.sqlite"

        def keep(journal: Journal) -> None:
            shutil.copyfile(journal.engine.url.database or "", path)

        costs = CostModel(funding_rate_8h=0.0)
        replay(_TrendSignal(), _bars(n_bars), costs, equity_every=1000, inspect=keep)
        journal = Journal.open(f"sqlite:///{path}", migrate=False)
        runs: dict[str, list[float]] = {"verify_audit_chain": [], "exact pass (previous)": []}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        passes: dict[str, Callable[[Journal], int]] = {
            "verify_audit_chain": _fast,
            "exact pass (previous)": _exact,
        }
        n_events = 0
        for _ in range(repeat):
            for name, verify in passes.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                n_events = verify(journal)
                runs[name].append(n_events / (time.perf_counter() - start))
                cpu[name].append(n_events / (time.process_time() - start_cpu))
        load = os.getloadavg()
        journal.engine.dispose()
        sizes = size_breakdown(path, n_bars)
    print(f"journal of a {n_bars:,}-bar replay (equity every 1,000 bars): {n_events:,} events")
    print(f"runs: {repeat} interleaved; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for name, rates in runs.items():
        best, median = max(rates), statistics.median(rates)
        cpu_best, cpu_median = max(cpu[name]), statistics.median(cpu[name])
        print(
            f"{name:<22} events/s  best {best:10,.0f}  median {median:10,.0f}   per CPU second "
            f"(all threads) best {cpu_best:10,.0f}  median {cpu_median:10,.0f}"
        )
    fast, exact = runs["verify_audit_chain"], runs["exact pass (previous)"]
    print(
        f"ratio verify_audit_chain / exact pass: best x{max(fast) / max(exact):.2f}, "
        f"median x{statistics.median(fast) / statistics.median(exact):.2f}"
    )
    print(
        f"against the goal of {GOAL:,} events/s: best x{max(fast) / GOAL:.2f}, "
        f"median x{statistics.median(fast) / GOAL:.2f}"
    )
    print("\n".join(sizes))


if __name__ == "__main__":
    main()
