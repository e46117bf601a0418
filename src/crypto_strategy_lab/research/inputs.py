"""The lab's input data and its default costs: bundled sample, a file, or the data store.

Whatever the source, the lab gets a :class:`LabData`: the validated bars, a name that
identifies the dataset in the trial log, a description and the cleaning report printed in the
report, and the market the backtest assumes.

Default cost assumptions (stated in every report):

* crypto (bars on weekends) -> ``perp``: Bybit base-tier linear perpetual, taker 5.5 bps,
  2 bps fixed slippage, funding 1 bp per 8 h, long and short (:class:`CostModel` defaults);
* stocks (no weekend bars) -> ``stock``: long-only, commission-free (Alpaca), 2 bps fixed
  slippage, no funding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.data.bundled import load_default_bars
from crypto_strategy_lab.data.schema import DataValidationError
from crypto_strategy_lab.data.sources.files import import_file
from crypto_strategy_lab.data.store import DataStore
from crypto_strategy_lab.research.trial import BacktestSettings

STOCK_COSTS = CostModel(taker_fee_bps=0.0, maker_fee_bps=0.0, slippage_bps=2.0, funding_rate_8h=0.0)


@dataclass(frozen=True)
class LabData:
    """Bars plus what a report must say about them."""

    name: str
    bars: pd.DataFrame
    description: str
    cleaning: str
    market: str  # "perp" | "spot" | "stock"


def infer_market(bars: pd.DataFrame) -> str:
    """``"perp"`` if any bar falls on a weekend (a 24/7 crypto market), else ``"stock"``."""
    return "perp" if bool((bars.index.day_of_week >= 5).any()) else "stock"


def default_settings(market: str) -> BacktestSettings:
    """The stated default costs for ``market`` (module docstring)."""
    if market == "stock":
        return BacktestSettings(market="stock", costs=STOCK_COSTS)
    return BacktestSettings(market=market, costs=CostModel())


def _span(bars: pd.DataFrame) -> str:
    return (
        f"{len(bars):,} bars, {bars.index[0]:%Y-%m-%d %H:%M} → {bars.index[-1]:%Y-%m-%d %H:%M} UTC"
    )


def bundled_data(kind: str = "crypto") -> LabData:
    """A bundled dataset (``crypto``: BTC-USD 15 m; ``stocks``: S&P 500 daily)."""
    ds = load_default_bars(kind)
    return LabData(ds.name, ds.bars, ds.description, str(ds.cleaning_report), infer_market(ds.bars))


def file_data(path: str | Path) -> LabData:
    """Bars from a CSV/Parquet file, validated as read (no repairs are made)."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"data file not found: {path}")
    bars = import_file(path)
    return LabData(
        f"file:{path.name}",
        bars,
        f"OHLCV bars from the file {path.name}; {_span(bars)}.",
        "No cleaning: the file passed the OHLCV schema as read (nothing sorted, "
        "de-duplicated or filled).",
        infer_market(bars),
    )


def store_data(
    symbol: str, timeframe: str, source: str = "bybit", data_dir: str | Path | None = None
) -> LabData:
    """Bars of ``symbol`` from the local data store (``csl data download`` fills it)."""
    store = DataStore(data_dir)
    if not store.exists(source, symbol, timeframe):
        raise DataValidationError(
            f"no stored bars for {source} {symbol} {timeframe} under {store.root} "
            f"(run: csl data download --exchange {source} --symbol {symbol} "
            f"--timeframe {timeframe} --since ...)"
        )
    bars = store.read(source, symbol, timeframe)
    return LabData(
        f"{source}:{symbol}:{timeframe}",
        bars,
        f"{symbol} {timeframe} bars from {source}, read from the local store; {_span(bars)}.",
        "Stored bars were validated on write; gaps are not filled.",
        infer_market(bars),
    )
