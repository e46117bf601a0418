"""The lab report's charts, small enough to keep the page under a few megabytes and offline.

Two parts, both gzip-compressed and base64-embedded in the page, inflated by the browser's
``DecompressionStream`` (Chromium 80+, Firefox 113+, Safari 16.4+; no network) before drawing:

* plotly.js itself (:func:`plotly_js_gzip`: 4.8 MB minified, about 2 MB embedded); the
  decision and the alternatives are in ``docs/DECISIONS.md`` (Research orchestration);
* every figure's JSON in one :class:`FigureBundle`: long x and y arrays stored once however
  many traces use them (a time axis, the buy-and-hold curve of every row on the same bars),
  the plotly template once, numbers rounded for display.

Curves are thinned for display only (:func:`thin_line`, :func:`thin_extremes`: at most
:data:`MAX_POINTS` points per line); every number in the report's tables uses every bar.
A figure inside a hidden tear sheet is drawn when its tear sheet is first shown. Only the
first tear sheet is in the page's markup; the others (a few kB of tables each, a hundred in a
multi-asset lab) are one more compressed blob, inserted when chosen.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.utils import PlotlyJSONEncoder

#: Most points a drawn line has (the curves of the report are thinned to it): about one per
#: two pixels of the page's width; each row's lines cost the page bytes, and a multi-asset
#: lab has a hundred rows.
MAX_POINTS = 500
#: x and y arrays at least this long are stored once per bundle and referenced by name.
_SHARED_MIN = 50
TEMPLATE = "plotly_white"


def gzip_base64(data: bytes) -> str:
    """``data`` gzip-compressed and base64-encoded.

    Level 9, no timestamp: the same bytes give the same text.

    Parameters
    ----------
    data : bytes
        What to embed (UTF-8 text of plotly.js, the figures' JSON or the tear sheets' markup).

    Returns
    -------
    str
        ASCII base64 of the gzip stream (``mtime=0``), which the page's loader inflates with
        ``DecompressionStream("gzip")``.
    """
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode("ascii")


@cache
def plotly_js_gzip() -> str:
    """The installed plotly.js, gzip + base64 (computed once per process).

    Returns
    -------
    str
        :func:`gzip_base64` of ``plotly.offline.get_plotlyjs()`` (about 4.8 MB minified, 2 MB
        embedded), the version of the installed ``plotly`` package.
    """
    return gzip_base64(get_plotlyjs().encode("utf-8"))


def thinning_positions(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """The bars a thinned line of ``n`` bars keeps.

    The first and the middle bar of each of ``(max_points - 1) // 2`` equal runs, and the last
    bar (all bars when ``n <= max_points``). Every line of the same length is thinned to the
    same bars, so the lines of one window share one x array (stored once by
    :class:`FigureBundle`).

    Parameters
    ----------
    n : int
        The line's number of bars.
    max_points : int, default ``MAX_POINTS``
        Most positions kept.

    Returns
    -------
    numpy.ndarray
        Ascending, distinct ``int64`` positions in ``[0, n)``, ``n - 1`` included; at most
        ``2 * ((max_points - 1) // 2) + 1 <= max_points`` of them.
    """
    if n <= max_points:
        return np.arange(n)
    edges = np.linspace(0, n, (max_points - 1) // 2 + 1).astype(np.int64)
    keep = np.stack([edges[:-1], (edges[:-1] + edges[1:]) // 2], axis=1).ravel()
    return np.unique(np.append(keep, n - 1))


def thin_line(series: pd.Series, max_points: int = MAX_POINTS) -> pd.Series:
    """The series at :func:`thinning_positions`.

    At most ``max_points`` points, the last bar included.

    Parameters
    ----------
    series : pandas.Series
        A line, one value per bar (an equity curve, a rolling ratio).
    max_points : int, default ``MAX_POINTS``
        Most points kept.

    Returns
    -------
    pandas.Series
        The kept values with their index labels; ``series`` itself when it is short enough.
    """
    return series.iloc[thinning_positions(len(series), max_points)]


def thin_extremes(series: pd.Series, max_points: int = MAX_POINTS) -> pd.Series:
    """The minimum and maximum of each run of :func:`thinning_positions`, and the last value.

    In the order they occur, drawn at the run's first and middle bar (a shift of at most one
    run, under 0.5 % of the line's span): a drawdown keeps its deepest point and its
    recoveries, on the same x array as the equity line of the same bars.

    Parameters
    ----------
    series : pandas.Series
        A line, one value per bar; NaN values are skipped within a run (a run of NaN only
        keeps NaN, a gap in the line).
    max_points : int, default ``MAX_POINTS``
        Most points kept.

    Returns
    -------
    pandas.Series
        Float values on the index labels at :func:`thinning_positions`, named as ``series``;
        ``series`` itself when it is short enough.
    """
    n = len(series)
    if n <= max_points:
        return series
    at = thinning_positions(n, max_points)
    values = series.to_numpy(dtype=float)
    out = values[at].copy()
    starts = at[::2][: len(at) // 2]
    ends = np.append(starts[1:], n)
    for k, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
        chunk = values[lo:hi]
        if np.isnan(chunk).all():
            continue
        i, j = int(np.nanargmin(chunk)), int(np.nanargmax(chunk))
        out[2 * k], out[2 * k + 1] = chunk[min(i, j)], chunk[max(i, j)]
    out[-1] = values[-1]
    return pd.Series(out, index=series.index[at], name=series.name)


def times(index: pd.Index) -> list[str]:
    """Timestamps as the text plotly reads for a date axis (minute resolution).

    Parameters
    ----------
    index : pandas.Index
        Timestamps (a ``DatetimeIndex``, or values it accepts).

    Returns
    -------
    list of str
        ``"YYYY-mm-dd HH:MM"`` per timestamp, in the index's own time zone (UTC for the lab's
        bars), seconds dropped.
    """
    return list(pd.DatetimeIndex(index).strftime("%Y-%m-%d %H:%M"))


def values(series: pd.Series | np.ndarray, decimals: int = 4) -> list[float | None]:
    """Numbers rounded for display, NaN as ``None`` (a gap in the line).

    Parameters
    ----------
    series : pandas.Series or numpy.ndarray
        Numbers (anything ``numpy.asarray(..., dtype=float)`` takes).
    decimals : int, default 4
        Decimal places kept (``numpy.round``: halves to even).

    Returns
    -------
    list of float or None
        One entry per value, JSON-ready.
    """
    arr = np.round(np.asarray(series, dtype=float), decimals)
    return [None if math.isnan(v) else v for v in arr.tolist()]


def significant(series: pd.Series | np.ndarray, digits: int = 4) -> list[float | None]:
    """Numbers to ``digits`` significant digits, NaN as ``None``.

    For a growth-of-1 line on a log axis the relative error (0.05 % at 4 digits) is what the
    eye sees.

    Parameters
    ----------
    series : pandas.Series or numpy.ndarray
        Numbers.
    digits : int, default 4
        Significant digits kept (``format(v, ".4g")`` for 4).

    Returns
    -------
    list of float or None
        One entry per value, JSON-ready.
    """
    return [None if math.isnan(v) else float(f"{v:.{digits}g}") for v in map(float, series)]


class FigureBundle:
    """The figures of one page.

    :meth:`add` returns a figure's placeholder ``<div>``, :meth:`payload` the compressed JSON
    the page's loader draws them from.
    """

    def __init__(self) -> None:
        self._figures: dict[str, Any] = {}
        self._axes: dict[tuple[Any, ...], str] = {}

    def _share(self, trace: dict[str, Any]) -> dict[str, Any]:
        out = dict(trace)
        for axis in ("x", "y"):
            arr = trace.get(axis)
            if arr is None or isinstance(arr, str) or len(arr) < _SHARED_MIN:
                continue
            name = self._axes.setdefault(tuple(arr), f"a{len(self._axes)}")
            out[axis] = "@" + name
        return out

    def add(self, fig: go.Figure, div_id: str) -> str:
        """Register ``fig`` under ``div_id`` and return its placeholder ``<div>``.

        The figure's margins are set to the page's (50/20/40/40 px, left/right/top/bottom) in
        place; its template is left out (:meth:`payload` stores it once).

        Parameters
        ----------
        fig : plotly.graph_objects.Figure
            The figure; its x and y arrays of 50 values or more are stored once per bundle.
        div_id : str
            The placeholder's HTML id, unique in the page.

        Returns
        -------
        str
            ``<div class="figure" id=...>`` with a minimum height of the figure's (450 px when it
            sets none), which the loader draws into.

        Raises
        ------
        ValueError
            If a figure was already added under ``div_id``.
        """
        if div_id in self._figures:
            raise ValueError(f"two figures with the id {div_id!r}")
        fig.update_layout(margin={"l": 50, "r": 20, "t": 40, "b": 40})
        spec = fig.to_plotly_json()
        layout = {k: v for k, v in spec["layout"].items() if k != "template"}
        self._figures[div_id] = {"data": [self._share(t) for t in spec["data"]], "layout": layout}
        height = int(layout.get("height") or 450)
        return f'<div class="figure" id="{div_id}" style="min-height:{height}px"></div>'

    def __len__(self) -> int:
        """The number of figures added."""
        return len(self._figures)

    def payload(self) -> str:
        """Every figure, the shared x arrays and the template: JSON, gzip, base64.

        Returns
        -------
        str
            :func:`gzip_base64` of ``{"figures": {div id: {"data", "layout"}}, "axes": {name:
            array}, "template": ...}`` as compact JSON (plotly's encoder); a trace's shared array
            is the string ``"@<name>"``, which the loader replaces by ``axes[name]``.
        """
        bundle = {
            "figures": self._figures,
            "axes": {name: list(x) for x, name in self._axes.items()},
            "template": pio.templates[TEMPLATE].to_plotly_json(),
        }
        text = json.dumps(bundle, cls=PlotlyJSONEncoder, separators=(",", ":"))
        return gzip_base64(text.encode("utf-8"))


#: The page's loader: inflate plotly.js, the figures and the tear sheets not in the page,
#: draw the visible figures, switch the selected tear sheet (inserting it and drawing its
#: figures the first time it is shown).
LOADER_JS = """
(function () {
  "use strict";
  let bundle = null;
  async function inflate(id) {
    const bin = atob(document.getElementById(id).textContent.trim());
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }
  function draw(div) {
    if (div.dataset.drawn) return;
    const spec = bundle.figures[div.id];
    const data = spec.data.map(function (t) {
      const out = Object.assign({}, t);
      ["x", "y"].forEach(function (k) {
        const v = out[k];
        if (typeof v === "string" && v[0] === "@" && bundle.axes[v.slice(1)]) {
          out[k] = bundle.axes[v.slice(1)];
        }
      });
      return out;
    });
    const layout = Object.assign({template: bundle.template}, spec.layout);
    Plotly.newPlot(div, data, layout, {responsive: true, displaylogo: false});
    div.dataset.drawn = "true";
  }
  function drawVisible() {
    document.querySelectorAll("div.figure").forEach(function (div) {
      const sheet = div.closest("[data-row]");
      if (!sheet || !sheet.hidden) draw(div);
    });
  }
  let sheets = {};
  function select(label) {
    if (sheets[label] !== undefined) {
      document.getElementById("tearsheet-list").insertAdjacentHTML("beforeend", sheets[label]);
      delete sheets[label];
    }
    document.querySelectorAll("[data-row]").forEach(function (s) {
      s.hidden = s.dataset.row !== label;
    });
    if (bundle) drawVisible();
  }
  document.addEventListener("DOMContentLoaded", function () {
    const choice = document.getElementById("tearsheet-select");
    if (choice) {
      choice.addEventListener("change", function () { select(choice.value); });
      select(choice.value);
    }
    (async function () {
      (0, eval)(await inflate("plotly-js-gz"));
      bundle = JSON.parse(await inflate("figures-gz"));
      sheets = JSON.parse(await inflate("tearsheets-gz"));
      if (choice) select(choice.value);
      drawVisible();
      document.body.dataset.figures = "drawn";
    })().catch(function (err) {
      document.body.dataset.figures = "failed";
      const note = document.getElementById("figures-error");
      note.hidden = false;
      note.textContent = "The charts could not be drawn (" + err + "): they need a browser " +
        "with DecompressionStream (Chromium 80+, Firefox 113+, Safari 16.4+).";
    });
  });
})();
"""
