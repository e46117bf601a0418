"""``csl audit verify``: check the journal's hash-chained audit log and its records."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(help="Audit the trading journal.", no_args_is_help=True)
console = Console()


@app.command("verify")
def verify(
    journal: str | None = typer.Option(
        None, "--journal", help="Journal SQLAlchemy URL (default: CSL_JOURNAL_URL or data dir)."
    ),
    expected_head: str | None = typer.Option(
        None, "--expected-head", help="A head hash recorded earlier that must still be there."
    ),
) -> None:
    """Recompute the audit hash chain and compare every journal record with it.

    Exits 1 and lists each problem when a record was edited, deleted or inserted.
    \f

    Parameters
    ----------
    journal : str or None
        ``--journal``: the journal's SQLAlchemy URL; None uses ``CSL_JOURNAL_URL`` or the
        data directory's journal.
    expected_head : str or None
        ``--expected-head``: a head hash recorded earlier that must still be in the chain;
        None checks the chain only.

    Raises
    ------
    typer.Exit
        With code 1 when any problem is found.
    """
    from crypto_strategy_lab.journal.db import default_journal_url, masked_url
    from crypto_strategy_lab.journal.verify import verify_journal

    url = journal or default_journal_url()
    report = verify_journal(url, expected_head=expected_head)
    if report.ok:
        console.print(
            f"[green]ok[/]: {report.n_events} audit events verified; head {report.head_hash}",
            highlight=False,
            soft_wrap=True,
        )
        return
    for problem in report.problems:
        console.print(f"[red]✗[/] {problem}", highlight=False)
    console.print(
        f"[bold red]FAILED[/]: {len(report.problems)} problem(s) in {report.n_events} audit "
        f"events of {masked_url(url)}",
        highlight=False,
    )
    raise typer.Exit(1)
