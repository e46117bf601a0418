"""The lab's input data and its default costs: bundled sample, a file, or the data store.

Whatever the source, the lab gets a :class:`LabData`: the validated bars, a name that
identifies the dataset in the trial log, a description and the cleaning report printed in the
report, and the market the backtest assumes.

The market comes from the one rule of :mod:`crypto_strategy_lab.data.markets` (explicit,
metadata, or a stated inference). Default cost assumptions (stated in every report):

* crypto -> ``perp``: Bybit base-tier linear perpetual, taker 5.5 bps, 2 bps fixed slippage,
  funding 1 bp per 8 h, long and short (:class:`CostModel` defaults);
* stocks -> ``stock``: long-only, commission-free (Alpaca), 2 bps fixed slippage, no funding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crypto_strategy_lab.core.costs import CostModel, SlippageModel
from crypto_strategy_lab.data.loader import LoadedBars, open_data
from crypto_strategy_lab.data.schema import DataValidationError
from crypto_strategy_lab.data.spec import DEFAULT_SOURCE, store_spec
from crypto_strategy_lab.research.trial import BacktestSettings

STOCK_COSTS = CostModel(taker_fee_bps=0.0, maker_fee_bps=0.0, slippage_bps=2.0, funding_rate_8h=0.0)


@dataclass(frozen=True)
class LabData:
    """Bars plus what a report must say about them.

    ``instrument`` is the traded symbol the bars are of (``BTCUSDT``): a gate verdict names
    it, and ``csl live`` accepts a verdict only for the instrument it trades. Empty when
    unknown (a file given without ``--instrument``): such a verdict unlocks nothing.

    Attributes
    ----------
    name : str
        The dataset's name in the trial log (``file:BTCUSDT:1h``, a bundled dataset's name).
    bars : pandas.DataFrame
        The validated OHLCV bars, indexed by open time.
    description : str
        What the data is, for the report.
    cleaning : str
        The cleaning report, for the report.
    market : {"perp", "spot", "stock"}
        The market the backtest assumes.
    instrument : str
        The traded symbol, or ``""`` when unknown.
    """

    name: str
    bars: pd.DataFrame
    description: str
    cleaning: str
    market: str  # "perp" | "spot" | "stock"
    instrument: str = ""

    @property
    def symbol(self) -> str:
        """What the bars are of, for row labels: the instrument, else the dataset's name."""
        return self.instrument or self.name


def venue_symbol(symbol: str) -> str:
    """The venue's spelling of a ccxt symbol: ``BTC/USDT:USDT`` -> ``BTCUSDT``.

    Parameters
    ----------
    symbol : str
        A ccxt symbol (``BASE/QUOTE`` or ``BASE/QUOTE:SETTLE``), or one already in the
        venue's spelling.

    Returns
    -------
    str
        The part before any ``:``, without ``/``, upper-cased.
    """
    return symbol.split(":", 1)[0].replace("/", "").upper()


def default_settings(market: str, slippage: str = "fixed") -> BacktestSettings:
    """The stated default costs for ``market`` (module docstring).

    Parameters
    ----------
    market : {"perp", "spot", "stock"}
        The market the backtest assumes: ``stock`` gets :data:`STOCK_COSTS`, the others
        :class:`~crypto_strategy_lab.core.costs.CostModel`'s defaults.
    slippage : {"fixed", "range", "volume"}, default "fixed"
        The slippage model of :class:`~crypto_strategy_lab.core.costs.CostModel`
        (``volume``: a participation cost ``k |q| / V`` on top of the fixed bps, for
        capacity).

    Returns
    -------
    BacktestSettings
        `market` with those costs; every other setting at its default.

    Raises
    ------
    ValueError
        If `slippage` names no :class:`~crypto_strategy_lab.core.costs.SlippageModel`.
    """
    costs = STOCK_COSTS if market == "stock" else CostModel()
    costs = costs.model_copy(update={"slippage": SlippageModel(slippage)})
    return BacktestSettings(market=market, costs=costs)


def lab_data(loaded: LoadedBars) -> LabData:
    """The lab's view of bars read by the one loader (:mod:`crypto_strategy_lab.data.loader`).

    Parameters
    ----------
    loaded : LoadedBars
        What :func:`~crypto_strategy_lab.data.loader.open_data` returned.

    Returns
    -------
    LabData
        The bars, their name, description, cleaning notes and market; ``instrument`` is
        the venue spelling of a stored series' symbol (:func:`venue_symbol`), empty for a
        file or a bundled dataset.

    Raises
    ------
    DataValidationError
        If the loader left the market undecided (the reason says why).
    """
    if loaded.market.market is None:  # only csl data import lets the market stay undecided
        raise DataValidationError(loaded.market.reason)
    spec = loaded.spec
    instrument = venue_symbol(spec.symbol) if spec.kind == "store" and spec.symbol else ""
    return LabData(
        loaded.name,
        loaded.bars,
        loaded.description,
        loaded.cleaning,
        loaded.market.market,
        instrument,
    )


def bundled_data(kind: str = "crypto", market: str | None = None) -> LabData:
    """A bundled dataset (``crypto``: BTC-USD 15 m; ``stocks``: S&P 500 daily).

    Parameters
    ----------
    kind : {"crypto", "stocks"}, default "crypto"
        Which dataset.
    market : {"perp", "spot", "stock"} or None, optional
        The market the backtest assumes; ``None`` (default): the dataset's own.

    Returns
    -------
    LabData
        The dataset under its bundled name, without an instrument.
    """
    return lab_data(open_data(f"bundled:{kind}", market=market))


def file_data(path: str | Path, market: str | None = None, **read: Any) -> LabData:
    """Bars from a CSV/Parquet file, checked as read (no repairs are made).

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    market : {"perp", "spot", "stock"} or None, optional
        The market the backtest assumes; ``None`` (default): decided by
        :func:`~crypto_strategy_lab.data.markets.choose_market` (metadata or a stated
        inference).
    **read
        :func:`~crypto_strategy_lab.data.loader.open_data`'s options (``ts_unit``,
        ``columns``, ``timeframe``, ``timezone``...).

    Returns
    -------
    LabData
        The bars, without an instrument (a verdict on them unlocks nothing live).

    Raises
    ------
    DataValidationError
        On anything unreadable or implausible, in one line naming the fix.
    """
    return lab_data(open_data(Path(path), market=market, **read))


def store_data(
    symbol: str,
    timeframe: str | None = None,
    source: str = DEFAULT_SOURCE,
    data_dir: str | Path | None = None,
    market: str | None = None,
) -> LabData:
    """Bars of ``symbol`` from the local data store (``csl data import``/``download`` fill it).

    Parameters
    ----------
    symbol : str
        The stored symbol (its venue spelling is the verdicts' instrument).
    timeframe : str or None, optional
        The bar size wanted, resampled causally from a finer stored one if needed;
        ``None`` (default): the only bar size stored.
    source : str, default DEFAULT_SOURCE
        The store source the series was filed under (``"file"`` for ``csl data import``).
    data_dir : str or pathlib.Path or None, optional
        The store's root; ``None`` (default): the configured data directory.
    market : {"perp", "spot", "stock"} or None, optional
        The market the backtest assumes; ``None`` (default): the stored metadata's, or a
        stated inference.

    Returns
    -------
    LabData
        The bars with ``instrument`` set to the symbol's venue spelling.

    Raises
    ------
    DataValidationError
        If no such series is stored (the message lists what is), or the bars are
        implausible.
    """
    return lab_data(
        open_data(store_spec(source, symbol), timeframe=timeframe, market=market, data_dir=data_dir)
    )
