"""Which market bars belong to (crypto perpetual, crypto spot, stock), never guessed silently.

The market decides what a backtest assumes: shorting, fees and funding. It is taken, in this
order, from

1. an explicit choice (``--market``, or the ``market=`` argument);
2. metadata that says it: the market recorded with a stored series by ``csl data import``;
   the source ``alpaca`` serves US equities (``stock``); a ccxt unified
   symbol with a settle currency (``BTC/USDT:USDT``) is a perpetual swap (``perp``); the
   bundled ``stocks`` dataset is the S&P 500 (``stock``);
3. an **inference** that is always reported (:attr:`MarketChoice.notice`, which the CLI prints
   as its first line) and says how to override it:

   * a crypto source (any ccxt exchange id, or the bundled ``crypto`` dataset) -> ``perp``,
     the project's default crypto venue (Bybit linear perpetual, the default costs);
   * otherwise the trading calendar, but only over a span of at least
     :data:`MIN_CALENDAR_SPAN` (two full weeks, so every day of the week occurs twice): bars
     on every day of the week, each holding at least half its fair share (1/14 of the bars),
     mean 24/7 trading -> crypto -> ``perp``; bars on at most five days of the week mean a
     weekday session calendar -> ``stock``. Anything between (e.g. FX, which opens on Sunday
     evening) and any shorter span is refused: pass ``--market``.

A two-minute span (epoch milliseconds read as nanoseconds) therefore can never be called
``stock`` for holding no weekend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crypto_strategy_lab.data.schema import DataValidationError

MARKETS: tuple[str, ...] = ("perp", "spot", "stock")
_ALIASES = {"perp": "perp", "linear": "perp", "swap": "perp", "spot": "spot", "stock": "stock"}
MIN_CALENDAR_SPAN = pd.Timedelta(days=14)
OVERRIDE = "override with --market perp|spot|stock"


@dataclass(frozen=True)
class MarketChoice:
    """The market of a dataset and where it came from.

    Attributes
    ----------
    market
        ``"perp"``, ``"spot"`` or ``"stock"``; ``None`` when it could not be decided (then
        ``reason`` says why).
    reason
        What it was taken or inferred from, in words.
    inferred
        ``True`` when it is an inference rather than explicit (choice or metadata).
    """

    market: str | None
    reason: str
    inferred: bool

    @property
    def notice(self) -> str:
        """One line for the user: the market, why, and (when inferred) how to override it."""
        return self.notice_for(OVERRIDE)

    def notice_for(self, override: str) -> str:
        """:attr:`notice` with ``override`` saying how to choose.

        The CLI names its option, ``run_backtest`` its argument.

        Parameters
        ----------
        override : str
            How the user picks another market, appended when the market was inferred.

        Returns
        -------
        str
            ``market: <market> (<from|inferred from> <reason>)[; <override>]``.
        """
        if self.market is None:
            return f"market: not decided ({self.reason})"
        how = "inferred from" if self.inferred else "from"
        tail = f"; {override}" if self.inferred else ""
        return f"market: {self.market} ({how} {self.reason}){tail}"


def normalise_market(market: str) -> str:
    """The canonical name of a market: ``perp``, ``spot`` or ``stock``.

    Parameters
    ----------
    market : str
        ``perp``/``linear``/``swap`` (-> ``perp``), ``spot`` or ``stock``, any case.

    Returns
    -------
    str
        The canonical name.

    Raises
    ------
    DataValidationError
        If the market is unknown.
    """
    try:
        return _ALIASES[str(market).strip().lower()]
    except KeyError:
        raise DataValidationError(
            f"unknown market {market!r}; use one of {', '.join(MARKETS)}"
        ) from None


def _is_crypto_exchange(source: str) -> bool:
    import ccxt  # lazy: ~0.4 s, needed only for stored data from an exchange

    return source.lower() in ccxt.exchanges


def choose_market(
    bars: pd.DataFrame,
    *,
    market: str | None = None,
    source: str | None = None,
    symbol: str | None = None,
    recorded: str | None = None,
) -> MarketChoice:
    """The market of ``bars`` by the rule of the module docstring.

    Parameters
    ----------
    bars
        A validated OHLCV frame.
    market
        An explicit choice; wins over everything else.
    source, symbol
        Where the bars come from (store source or ``bundled``, and its symbol or dataset).
    recorded
        The market recorded with a stored series (at ``csl data import``).

    Returns
    -------
    MarketChoice
        The market, why, and whether it was inferred (a default the user may override).

    Raises
    ------
    DataValidationError
        When nothing explicit is given and the calendar cannot tell (module docstring).
    """
    if market is not None:
        return MarketChoice(normalise_market(market), "--market", inferred=False)
    if recorded is not None:
        return MarketChoice(recorded, "the store, recorded at import", inferred=False)
    src = (source or "").lower()
    if src == "alpaca":
        return MarketChoice("stock", "the source alpaca (US equities)", inferred=False)
    if src == "bundled" and symbol == "stocks":
        return MarketChoice("stock", "the bundled S&P 500 dataset", inferred=False)
    if symbol and ":" in symbol and src != "bundled":
        return MarketChoice("perp", f"the swap symbol {symbol} (BASE/QUOTE:SETTLE)", False)
    if src == "bundled" and symbol == "crypto":
        return MarketChoice("perp", "the bundled crypto dataset; crypto defaults to perp", True)
    if src not in ("", "bundled", "file") and _is_crypto_exchange(src):
        return MarketChoice(
            "perp", f"the source {source}, a crypto exchange; crypto defaults to perp", True
        )
    return _from_calendar(bars)


def _from_calendar(bars: pd.DataFrame) -> MarketChoice:
    index = pd.DatetimeIndex(bars.index)
    span = index[-1] - index[0] if len(index) else pd.Timedelta(0)
    if span < MIN_CALENDAR_SPAN:
        raise DataValidationError(
            f"cannot infer the market from {span} of bars (the trading calendar needs at "
            f"least {MIN_CALENDAR_SPAN.days} days); pass --market perp|spot|stock"
        )
    share = np.bincount(index.day_of_week, minlength=7) / len(index)
    if (share >= 0.5 / 7).all():
        return MarketChoice(
            "perp",
            f"the calendar: bars on all 7 days of the week ({share[5:].sum():.0%} on weekends), "
            "24/7 crypto trading; crypto defaults to perp",
            inferred=True,
        )
    days = int((share > 0).sum())
    if days <= 5:
        return MarketChoice(
            "stock",
            f"the calendar: bars on {days} days of the week only, a weekday session calendar",
            inferred=True,
        )
    raise DataValidationError(
        f"cannot infer the market: bars on {days} days of the week, unevenly "
        f"({share[5:].sum():.1%} on weekends), neither 24/7 nor a weekday calendar; "
        "pass --market perp|spot|stock"
    )
