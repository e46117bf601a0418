"""``csl strategies``: the registered strategies, read from their classes (nothing restated).

For each strategy: its name, the rule (first line of the class docstring), the recommended
timeframes and asset classes it declares, whether it needs volume, and every parameter of its
parameter model with its default and description.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from crypto_strategy_lab.cli.errors import guarded

console = Console()


def strategy_rows() -> list[dict[str, Any]]:
    """One record per registered strategy, from the strategy classes themselves.

    Returns
    -------
    list of dict
        In registry order, each with ``name``, ``rule`` (the class docstring's first line),
        ``timeframes``, ``asset_classes``, ``uses_volume`` and ``params`` (field ->
        ``{"default", "description"}``, ``timeframe`` included).
    """
    from crypto_strategy_lab.strategies import list_strategies, strategy_class

    rows = []
    for name in list_strategies():
        cls = strategy_class(name)
        params = {
            field: {"default": info.default, "description": info.description or ""}
            for field, info in cls.params_model.model_fields.items()
        }
        rows.append(
            {
                "name": name,
                "rule": ((cls.__doc__ or "").strip().splitlines() or [""])[0],
                "timeframes": list(cls.recommended_timeframes),
                "asset_classes": list(cls.asset_classes),
                "uses_volume": bool(cls.uses_volume),
                "params": params,
            }
        )
    return rows


@guarded
def strategies(
    name: str | None = typer.Argument(None, help="One strategy (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List the strategies: recommended timeframes, asset classes, parameters and defaults.
    \f

    Parameters
    ----------
    name : str or None
        ``NAME`` (argument): one registered strategy; None lists them all.
    as_json : bool
        ``--json``: print JSON (the rows of :func:`strategy_rows`) instead of tables.
    """  # noqa: D205, D400
    rows = strategy_rows()
    if name is not None:
        from crypto_strategy_lab.strategies import strategy_class

        strategy_class(name)  # an unknown name fails listing the known ones
        rows = [r for r in rows if r["name"] == name]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title=f"{len(rows)} strategies (csl backtest --strategy NAME --param k=v)")
    for column in ("strategy", "timeframes", "asset classes", "volume", "parameters (default)"):
        table.add_column(column, overflow="fold")
    for r in rows:
        params = ", ".join(
            f"{k}={v['default']}" for k, v in r["params"].items() if k != "timeframe"
        )
        table.add_row(
            f"[bold]{r['name']}[/]\n{r['rule']}",
            ", ".join(r["timeframes"]),
            ", ".join(r["asset_classes"]),
            "yes" if r["uses_volume"] else "no",
            params,
        )
    console.print(table)
