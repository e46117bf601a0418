"""What a trial ran on and with: the data's content fingerprint and family, the strategy's code.

* :func:`bars_fingerprint` hashes the bars themselves (UTC timestamps in ns and the OHLCV
  values as float64), so a copy of a file under another name is the same data and ETH bars on
  BTC's timestamps are not.
* :func:`daily_closes` is the signature families are matched by: the last close of every
  complete UTC day. Bars resampled from one source (1 h -> 4 h -> 1 d, left-closed and
  left-labelled as :func:`~crypto_strategy_lab.data.cleaning.resample_bars` builds them) end
  each day on the same close, so they share it.
* :func:`strategy_code_version` hashes what the strategy's source files do (their ASTs
  without docstrings, :func:`code_version`), its own and the stats kernels and shared helpers
  it imports (:func:`strategy_source_files`): changing the code its signal is computed by
  makes its old trials other trials (their returns came from other code); editing
  docstrings, comments or layout does not.
* :func:`identify_data` registers the bars with the trial log and returns their
  :class:`~crypto_strategy_lab.validation.trial_log.DataIdentity`.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from crypto_strategy_lab.data.timeframes import TIMEFRAMES
from crypto_strategy_lab.performance.metrics import infer_periods_per_year
from crypto_strategy_lab.strategies import strategy_class
from crypto_strategy_lab.validation.trial_log import DataIdentity, TrialLog

OHLCV = ("open", "high", "low", "close", "volume")


def bars_fingerprint(bars: pd.DataFrame) -> str:
    """SHA-256 over the bars' UTC timestamps (int64 ns) and OHLCV columns (float64).

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars indexed by time (a naive index is taken as UTC); of the OHLCV columns, those
        present are hashed, each after its name.

    Returns
    -------
    str
        The hex digest: equal for equal content whatever the file or its name.
    """
    digest = hashlib.sha256()
    index = pd.DatetimeIndex(bars.index)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    digest.update(np.ascontiguousarray(index.as_unit("ns").asi8, dtype="<i8").tobytes())
    for col in OHLCV:
        if col in bars.columns:
            digest.update(col.encode())
            values = bars[col].to_numpy(dtype=np.float64)
            digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()


def daily_closes(bars: pd.DataFrame) -> dict[str, float]:
    """Last close of each UTC day, first and last day dropped (they may be partial).

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars with a ``close`` column, indexed by time (a naive index is taken as UTC).

    Returns
    -------
    dict of str to float
        ``YYYY-MM-DD`` -> that day's last close: the signature data families are matched by.
    """
    closes = bars["close"].astype(float)
    index = pd.DatetimeIndex(closes.index)
    closes.index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    by_day = closes.groupby(closes.index.normalize()).last()
    by_day = by_day.iloc[1:-1]
    return {f"{day:%Y-%m-%d}": float(v) for day, v in by_day.items()}


def bars_timeframe(bars: pd.DataFrame) -> str:
    """The ccxt name of the median bar spacing (``"1h"``), or ``"<seconds>s"``.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars indexed by time.

    Returns
    -------
    str
        The name of :data:`~crypto_strategy_lab.data.timeframes.TIMEFRAMES` whose length is
        the median spacing, else that spacing in whole seconds (``"90s"``); ``""`` for
        fewer than two bars.
    """
    if len(bars) < 2:
        return ""
    ns = pd.DatetimeIndex(bars.index).as_unit("ns").asi8
    step = pd.Timedelta(int(np.median(np.diff(ns))), unit="ns")
    for name, delta in TIMEFRAMES.items():
        if delta == step:
            return name
    return f"{int(step.total_seconds())}s"


def code_version(files: Sequence[Path], root: Path | None = None) -> str:
    """16 hex digits of SHA-256 over what the files' code does: names and docstring-free ASTs.

    Each file contributes its name and ``ast.dump`` of its parsed module with the docstrings
    of the module, its classes and its functions removed. Comments, blank lines, line breaks
    and quoting are not in the AST, so a docstring edit, a comment or a reformat keeps the
    version, while any change to a name, constant, operator, default or statement makes a new
    one. ``ast.dump`` leaves out line numbers (``include_attributes=False``).

    Parameters
    ----------
    files : sequence of pathlib.Path
        Python source files; hashed in name order, whatever order they come in.
    root : pathlib.Path, optional
        A file's name is its path relative to ``root`` (``stats/vpin.py``: files of several
        packages); default its file name (the files of one folder).

    Returns
    -------
    str
        16 lowercase hex digits.

    Notes
    -----
    The AST's shape belongs to the Python minor version (3.11, pinned in ``pyproject.toml``):
    another interpreter may dump the same code differently and so version it anew, which
    re-counts trials (the conservative direction) and never merges different code.
    """
    digest = hashlib.sha256()
    named = sorted((f.relative_to(root).as_posix() if root else f.name, f) for f in files)
    for name, file in named:
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(_code_without_docstrings(file.read_text(encoding="utf-8")).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _code_without_docstrings(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                # a body of only a docstring still needs a statement to be a body
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=True, include_attributes=False)


# The numerical code a strategy's signal is computed by: its own package, the strategies'
# shared helpers, the stats kernels. A strategy's version covers what it imports of these.
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
_NUMERICAL = ("crypto_strategy_lab.strategies", "crypto_strategy_lab.stats")


@lru_cache(maxsize=64)
def strategy_code_version(name: str) -> str:
    """The strategy's code version: :func:`code_version` of its source files.

    The files of :func:`strategy_source_files`, named by their path in the package
    (``strategies/vpin/signal.py``, ``stats/vpin.py``): a change to a stats kernel or a
    shared helper the strategy uses makes a new version, as a change to its own code does.

    Parameters
    ----------
    name : str
        A registered strategy name.

    Returns
    -------
    str
        16 hex digits (cached per name for the process); equal across docstring, comment and
        formatting edits, different for any change to the code it runs.
    """
    return code_version(strategy_source_files(name), root=_PACKAGE_ROOT)


def strategy_source_files(name: str) -> list[Path]:
    """The source files a strategy's signal is computed by, as far as its imports show.

    Its own files (every ``.py`` file of its package when it is one, ``strategies/<name>/``,
    else its module file) and, transitively, every module of ``crypto_strategy_lab.strategies``
    and ``crypto_strategy_lab.stats`` they import (module-level or inside a function). A name
    imported from a package is followed to the module its ``__init__`` imports it from.

    Parameters
    ----------
    name : str
        A registered strategy name.

    Returns
    -------
    list of pathlib.Path
        The files, sorted. Modules of other layers (``core``, ``data``) are not included:
        they define types and errors, not the signal's arithmetic.
    """
    path = Path(inspect.getfile(strategy_class(name))).resolve()
    own = sorted(path.parent.glob("*.py")) if path.parent.name != "strategies" else [path]
    found: set[Path] = set()
    todo = list(own)
    while todo:
        file = todo.pop()
        if file not in found:
            found.add(file)
            todo.extend(_imported_files(file))
    return sorted(found)


@lru_cache(maxsize=256)
def _imports(file: Path) -> tuple[ast.Import | ast.ImportFrom, ...]:
    """The import statements of ``file`` (module level and inside functions), parsed once."""
    tree = ast.parse(file.read_text(encoding="utf-8"))
    return tuple(n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom))


def _imported_files(file: Path) -> list[Path]:
    """The numerical modules' files that ``file`` imports (absolute imports only)."""
    files: list[Path] = []
    for node in _imports(file):
        if isinstance(node, ast.Import):
            files += [f for a in node.names if (f := _module_file(a.name)) is not None]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                files += _defining_files(node.module, alias.name)
    return files


def _defining_files(module: str, name: str) -> list[Path]:
    """The file defining ``name`` as imported ``from module`` (a numerical module's).

    A submodule's file, the module's its package ``__init__`` re-exports it from, or the
    module's own; nothing outside :data:`_NUMERICAL`.
    """
    sub = _module_file(f"{module}.{name}")
    if sub is not None:
        return [sub]
    file = _module_file(module)
    if file is None:
        return []
    if file.name == "__init__.py":
        for node in _imports(file):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and not node.level
                and any((a.asname or a.name) == name for a in node.names)
            ):
                original = next(a.name for a in node.names if (a.asname or a.name) == name)
                return _defining_files(node.module, original) or [file]
    return [file]


def _module_file(module: str) -> Path | None:
    """The source file of a numerical module (None outside :data:`_NUMERICAL` or missing)."""
    if not any(module == p or module.startswith(p + ".") for p in _NUMERICAL):
        return None
    parts = module.split(".")[1:]
    base = _PACKAGE_ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def identify_data(
    bars: pd.DataFrame, name: str, trial_log: TrialLog, market: str = "crypto"
) -> DataIdentity:
    """Fingerprint ``bars``, register them with ``trial_log`` and return their identity.

    Parameters
    ----------
    bars : pandas.DataFrame
        The bars a study runs on.
    name : str
        The dataset's name (a label; the family is found by content).
    trial_log : TrialLog
        Where the data is registered and its family decided.
    market : str, default "crypto"
        The market calendar the bars' periods per year are inferred with.

    Returns
    -------
    DataIdentity
        Fingerprint, family, bar size, bars per year (inferred for ``market``) and name.
    """
    fingerprint = bars_fingerprint(bars)
    timeframe = bars_timeframe(bars)
    family = trial_log.register_data(
        fingerprint,
        name=name,
        timeframe=timeframe,
        n_bars=len(bars),
        start=bars.index[0],
        end=bars.index[-1],
        daily_closes=daily_closes(bars),
    )
    ppy = infer_periods_per_year(pd.DatetimeIndex(bars.index), market)
    return DataIdentity(fingerprint, family, timeframe, ppy, name)
