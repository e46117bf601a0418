"""The market-data store: one Parquet file per (source, symbol, timeframe), queried with DuckDB.

Layout: ``<root>/<source>/<symbol-slug>/<timeframe>.parquet``, where the slug replaces ``/``
and ``:`` (``BTC/USDT:USDT -> BTC-USDT-USDT``); the exact source, symbol and timeframe are kept
in the file's Parquet key-value metadata, which :meth:`DataStore.list` reads back. ``root`` is
``CSL_DATA_DIR`` or, when unset, ``platformdirs.user_data_dir("crypto-strategy-lab")/market``.

Decisions
---------
* **Validate before writing.** Frames must pass :func:`validate_ohlcv` and
  :func:`~crypto_strategy_lab.data.plausibility.check_plausible` (no bar in the future, every
  step a whole number of bars, daily files included); intraday bars must lie on the
  timeframe grid. A rejected frame leaves the store untouched, so nothing implausible is
  ever stored.
* **Atomic writes.** The new file is written to a temporary file in the same directory,
  flushed and fsynced, then moved over the old one with :func:`os.replace` (atomic on POSIX),
  so a reader sees either the old or the new file, never a partial one.
* **Idempotent merge that keeps what was there.** Rows whose timestamp is already stored are
  not overwritten (a re-import of an overlapping range adds nothing); rows that disagree with
  the stored value are counted as ``conflicting`` in the :class:`WriteResult`.
* **Only OHLCV columns** are stored; timestamps as ``timestamp[us, tz=UTC]`` (DuckDB's native
  resolution), sorted and unique.
* **Queries in DuckDB.** Range reads use a ``WHERE`` on the timestamp column (row-group
  statistics prune the scan) and no ``ORDER BY``: files are written sorted and DuckDB keeps
  insertion order (``preserve_insertion_order``, on by default); results come back through
  Arrow (faster than DuckDB's ``.df()`` for tz-aware columns). Resampling uses
  ``time_bucket`` with ``arg_min/arg_max`` for open/close, in a connection whose time zone
  is pinned to UTC. Bins are left-closed and labelled by their start (bar open time), like
  :func:`cleaning.resample_ohlcv`.
* One writer per file at a time is assumed (no cross-process lock).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from platformdirs import user_data_dir

from crypto_strategy_lab.data.cleaning import off_grid_mask
from crypto_strategy_lab.data.plausibility import check_plausible
from crypto_strategy_lab.data.schema import OHLCV_COLUMNS, DataValidationError, validate_ohlcv
from crypto_strategy_lab.data.timeframes import grid_origin, parse_timeframe, timeframe_delta

_META_KEYS = ("source", "symbol", "timeframe")
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
_SCHEMA = pa.schema(
    [pa.field("timestamp", pa.timestamp("us", tz="UTC"))]
    + [pa.field(c, pa.float64()) for c in OHLCV_COLUMNS]
)


def default_data_dir() -> Path:
    """The store root.

    Returns
    -------
    pathlib.Path
        ``CSL_DATA_DIR`` if set (environment or ``.env``), else ``market`` in the per-user
        data directory.
    """
    from crypto_strategy_lab.config.settings import Settings

    configured = Settings().CSL_DATA_DIR
    return Path(configured) if configured else Path(user_data_dir("crypto-strategy-lab")) / "market"


@dataclass(frozen=True)
class WriteResult:
    """Outcome of :meth:`DataStore.write`: rows added, rows already stored, total rows."""

    path: Path
    added: int
    already_stored: int
    conflicting: int
    total: int


@dataclass(frozen=True)
class StoredSeries:
    """One stored series, as listed by :meth:`DataStore.list`."""

    source: str
    symbol: str
    timeframe: str
    rows: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    path: Path
    problem: str | None = None  # why the file cannot be used as it is (None: it can)
    market: str | None = None  # recorded at import (csl data import), if it was known


class DataStore:
    """Parquet files under ``root`` with DuckDB queries (see module docstring)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_data_dir()

    # ------------------------------------------------------------------ paths

    def path_for(self, source: str, symbol: str, timeframe: str) -> Path:
        """File of one series (it may not exist yet).

        Parameters
        ----------
        source, symbol : str
            The series' source (e.g. ``bybit``, ``file``) and symbol.
        timeframe : str
            Its bar size.

        Returns
        -------
        pathlib.Path
            ``<root>/<source>/<symbol>/<timeframe>.parquet`` (unsafe characters replaced).

        Raises
        ------
        DataValidationError
            If `source` or `symbol` is empty or the timeframe unknown.
        """
        if not source or not symbol:
            raise DataValidationError("source and symbol must be non-empty")
        tf = parse_timeframe(timeframe)
        return self.root / _SLUG.sub("-", source) / _SLUG.sub("-", symbol) / f"{tf}.parquet"

    def exists(self, source: str, symbol: str, timeframe: str) -> bool:
        """Whether the series' file exists.

        Parameters
        ----------
        source, symbol : str
            The series' source (e.g. ``bybit``, ``file``) and symbol.
        timeframe : str
            Its bar size.

        Returns
        -------
        bool
            True if the file exists.
        """
        return self.path_for(source, symbol, timeframe).is_file()

    # ------------------------------------------------------------------ write

    def write(
        self,
        bars: pd.DataFrame,
        source: str,
        symbol: str,
        timeframe: str,
        *,
        market: str | None = None,
    ) -> WriteResult:
        """Merge ``bars`` into the stored series, atomically, keeping rows already stored.

        ``market`` (``perp``/``spot``/``stock``), when known, is recorded in the file's
        metadata so that later reads take it as explicit metadata instead of inferring it.

        Parameters
        ----------
        bars : pandas.DataFrame
            Valid OHLCV bars on the timeframe's grid.
        source, symbol : str
            The series.
        timeframe : str
            Its bar size.
        market : str, optional
            The market, recorded in the metadata.

        Returns
        -------
        WriteResult
            The file, the rows added, the rows already stored (of which ``conflicting``
            differed) and the total.

        Raises
        ------
        DataValidationError
            If ``bars`` breaks the OHLCV schema, is implausible or off the timeframe grid, or
            ``market`` contradicts the market recorded for the series; nothing is written.
        """
        tf = parse_timeframe(timeframe)
        path = self.path_for(source, symbol, tf)
        validate_ohlcv(bars)
        check_plausible(bars, timeframe=tf)
        step = timeframe_delta(tf)
        if step < pd.Timedelta(days=1):
            off = off_grid_mask(bars.index, step)
            if off.any():
                first = ", ".join(t.isoformat() for t in bars.index[off][:5])
                raise DataValidationError(
                    f"timestamps must lie on the {tf} grid", "timestamp", int(off.sum()), [first]
                )
        new = bars[list(OHLCV_COLUMNS)].copy()
        new.index = new.index.as_unit("us")
        already = conflicting = 0
        recorded = self.market_of(path)
        if market is not None and recorded is not None and market != recorded:
            raise DataValidationError(
                f"{source}:{symbol}:{tf} is stored as market {recorded}, not {market}"
            )
        market = market or recorded
        if path.is_file():
            old = self._read_all(path)
            overlap = new.index.isin(old.index)
            already = int(overlap.sum())
            if already:
                mine = new[overlap]
                theirs = old.loc[mine.index]
                conflicting = int(
                    (~np.isclose(mine.to_numpy(), theirs.to_numpy())).any(axis=1).sum()
                )
            new = pd.concat([old, new[~overlap]]).sort_index()
        meta = {"source": source, "symbol": symbol, "timeframe": tf}
        self._atomic_write(new, path, meta | ({"market": market} if market else {}))
        return WriteResult(path, len(bars) - already, already, conflicting, len(new))

    @staticmethod
    def market_of(path: Path) -> str | None:
        """The market recorded in a stored file's metadata.

        Parameters
        ----------
        path : pathlib.Path
            A stored series' file.

        Returns
        -------
        str or None
            ``perp``, ``spot`` or ``stock``; ``None`` when none is recorded or there is no file.
        """
        if not path.is_file():
            return None
        value = (pq.read_schema(path).metadata or {}).get(b"csl.market")
        return value.decode() if value else None

    def _atomic_write(self, frame: pd.DataFrame, path: Path, meta: dict[str, str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(frame.reset_index(), schema=_SCHEMA, preserve_index=False)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), **{f"csl.{k}": v for k, v in meta.items()}}
        )
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                pq.write_table(table, handle, compression="zstd", row_group_size=1_000_000)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # ------------------------------------------------------------------ read

    @staticmethod
    def _connect() -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        return con

    @staticmethod
    def _to_frame(df: pd.DataFrame) -> pd.DataFrame:
        index = pd.DatetimeIndex(df.pop("timestamp"), name="timestamp")
        index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        out = df.set_axis(index)[list(OHLCV_COLUMNS)].astype("float64")
        return out

    def _read_all(self, path: Path) -> pd.DataFrame:
        return self._to_frame(pq.read_table(path).to_pandas())

    def _require(self, source: str, symbol: str, timeframe: str) -> Path:
        path = self.path_for(source, symbol, timeframe)
        if not path.is_file():
            raise DataValidationError(
                f"no stored data for source={source!r} symbol={symbol!r} "
                f"timeframe={parse_timeframe(timeframe)!r} under {self.root}"
            )
        return path

    @staticmethod
    def _bounds(start: object, end: object) -> tuple[str, list[pd.Timestamp]]:
        clauses, params = [], []
        for op, value in ((">=", start), ("<", end)):
            if value is not None:
                ts = pd.Timestamp(value)
                ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
                clauses.append(f"timestamp {op} ?")
                params.append(ts.to_pydatetime())
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def read(
        self,
        source: str,
        symbol: str,
        timeframe: str,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Bars with ``start <= timestamp < end`` (either bound optional), via DuckDB.

        Parameters
        ----------
        source, symbol : str
            The series' source (e.g. ``bybit``, ``file``) and symbol.
        timeframe : str
            Its bar size.
        start, end : str or pandas.Timestamp, optional
            Bounds, ``start <= timestamp < end`` (naive values are UTC).

        Returns
        -------
        pandas.DataFrame
            The OHLCV bars on a UTC ``DatetimeIndex``.

        Raises
        ------
        DataValidationError
            If the series is not stored.
        """
        path = self._require(source, symbol, timeframe)
        where, params = self._bounds(start, end)
        with self._connect() as con:
            df = con.sql(
                f"SELECT * FROM read_parquet(?){where}", params=[str(path), *params]
            ).to_arrow_table()
        # Arrow -> pandas is several times faster than DuckDB's own .df() for tz-aware columns.
        df = df.to_pandas()
        return self._to_frame(df)

    def resample(
        self,
        source: str,
        symbol: str,
        timeframe: str,
        to: str,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Aggregate stored bars to the coarser bar size ``to`` inside DuckDB.

        ``open = arg_min(open, timestamp)``, ``high = max``, ``low = min``,
        ``close = arg_max(close, timestamp)``, ``volume = sum``, grouped by
        ``time_bucket(to, timestamp, origin)`` with the origin of :func:`grid_origin` (the epoch,
        or Monday 1970-01-05 for weekly bars); empty buckets do not appear.

        Parameters
        ----------
        source, symbol : str
            The series' source (e.g. ``bybit``, ``file``) and symbol.
        timeframe : str
            Its bar size.
        to : str
            Target bar size, a larger whole multiple of `timeframe`.
        start, end : str or pandas.Timestamp, optional
            Bounds, ``start <= timestamp < end`` (naive values are UTC).

        Returns
        -------
        pandas.DataFrame
            The ``to`` bars, labelled by their open time.

        Raises
        ------
        DataValidationError
            If the series is not stored or `to` is not a larger whole multiple.
        """
        path = self._require(source, symbol, timeframe)
        step, target = timeframe_delta(timeframe), timeframe_delta(to)
        if target <= step or target % step:
            raise DataValidationError(
                f"cannot resample {parse_timeframe(timeframe)} bars to {parse_timeframe(to)}: "
                "the target must be a larger whole multiple"
            )
        where, params = self._bounds(start, end)
        micros = int(target / pd.Timedelta(microseconds=1))
        origin = grid_origin(to)
        sql = f"""
            SELECT time_bucket(to_microseconds({micros}), timestamp,
                               TIMESTAMPTZ '{origin:%Y-%m-%d %H:%M:%S}+00') AS timestamp,
                   arg_min(open, timestamp) AS open, max(high) AS high, min(low) AS low,
                   arg_max(close, timestamp) AS close, sum(volume) AS volume
            FROM read_parquet(?){where}
            GROUP BY 1 ORDER BY 1
        """
        with self._connect() as con:
            df = con.sql(sql, params=[str(path), *params]).to_arrow_table().to_pandas()
        return self._to_frame(df)

    def last_timestamp(self, source: str, symbol: str, timeframe: str) -> pd.Timestamp | None:
        """Open time of the newest stored bar.

        Parameters
        ----------
        source, symbol : str
            The series' source (e.g. ``bybit``, ``file``) and symbol.
        timeframe : str
            Its bar size.

        Returns
        -------
        pandas.Timestamp or None
            UTC, or ``None`` when nothing is stored.
        """
        path = self.path_for(source, symbol, timeframe)
        if not path.is_file():
            return None
        with self._connect() as con:
            (value,) = con.execute(
                "SELECT max(timestamp) FROM read_parquet(?)", [str(path)]
            ).fetchone()
        return None if value is None else pd.Timestamp(value).tz_convert("UTC")

    def row_count(self, source: str, symbol: str, timeframe: str) -> int:
        """Number of stored bars, from the Parquet metadata.

        Parameters
        ----------
        source, symbol : str
            The series' source (e.g. ``bybit``, ``file``) and symbol.
        timeframe : str
            Its bar size.

        Returns
        -------
        int
            0 when the series does not exist.
        """
        path = self.path_for(source, symbol, timeframe)
        return pq.read_metadata(path).num_rows if path.is_file() else 0

    def list(self) -> list[StoredSeries]:
        """Every stored series with its row count and time range (from Parquet metadata).

        Never raises on a stored file: one that cannot be read, or whose time range is
        implausible (written by an older version), is listed with its ``problem``.

        Returns
        -------
        list of StoredSeries
            One entry per file, sorted by path.
        """
        out = []
        for path in sorted(self.root.glob("*/*/*.parquet")):
            fallback = (path.parent.parent.name, path.parent.name, path.stem)
            try:
                meta = pq.read_metadata(path)
            except (OSError, pa.ArrowException) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                out.append(StoredSeries(*fallback, 0, None, None, path, f"unreadable: {reason}"))
                continue
            kv = {
                k.decode(errors="replace"): v.decode(errors="replace")
                for k, v in (meta.metadata or {}).items()
            }
            if not all(f"csl.{k}" in kv for k in _META_KEYS):
                continue
            start, end, problem = self._time_range(meta)
            out.append(
                StoredSeries(
                    kv["csl.source"],
                    kv["csl.symbol"],
                    kv["csl.timeframe"],
                    meta.num_rows,
                    start,
                    end,
                    path,
                    problem,
                    kv.get("csl.market"),
                )
            )
        return out

    @staticmethod
    def _time_range(
        meta: pq.FileMetaData,
    ) -> tuple[pd.Timestamp | None, pd.Timestamp | None, str | None]:
        """First and last timestamp from the row-group statistics.

        Read as raw int64 microseconds, so an out-of-range value is reported instead of
        raising.
        """
        lows, highs = [], []
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(0).statistics
            if stats is not None and stats.has_min_max and stats.physical_type == "INT64":
                lows.append(int(stats.min_raw))
                highs.append(int(stats.max_raw))
        if not lows:
            return None, None, None
        low, high = min(lows), max(highs)
        bound = pd.Timestamp.max.value // 1000  # microseconds a pandas timestamp can hold
        if not (-bound <= low and high <= bound):
            return None, None, "timestamps out of range (epoch unit misread?): delete and re-import"
        return pd.Timestamp(low, unit="us", tz="UTC"), pd.Timestamp(high, unit="us", tz="UTC"), None
