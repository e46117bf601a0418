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
A figure inside a hidden tear sheet is drawn when its tear sheet is first shown.
"""

from __future__ import annotations

import base64
import gzip
import itertools
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

#: Most points a drawn line has (the curves of the report are thinned to it).
MAX_POINTS = 1000
#: x and y arrays at least this long are stored once per bundle and referenced by name.
_SHARED_MIN = 50
TEMPLATE = "plotly_white"


def gzip_base64(data: bytes) -> str:
    """``data`` gzip-compressed (level 9, no timestamp: the same bytes give the same text)
    and base64-encoded."""
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode("ascii")


@cache
def plotly_js_gzip() -> str:
    """The installed plotly.js, gzip + base64 (computed once per process)."""
    return gzip_base64(get_plotlyjs().encode("utf-8"))


def thin_line(series: pd.Series, max_points: int = MAX_POINTS) -> pd.Series:
    """Every k-th point and the last one, with ``k`` the smallest step giving at most
    ``max_points`` points."""
    n = len(series)
    if n <= max_points:
        return series
    step = math.ceil(n / (max_points - 1))
    keep = np.unique(np.append(np.arange(0, n, step), n - 1))
    return series.iloc[keep]


def thin_extremes(series: pd.Series, max_points: int = MAX_POINTS) -> pd.Series:
    """The minimum and maximum of each of ``max_points // 2`` equal runs of bars, in time
    order: a drawdown keeps its deepest point and its recoveries."""
    n = len(series)
    if n <= max_points:
        return series
    values = series.to_numpy(dtype=float)
    edges = np.linspace(0, n, max_points // 2 + 1).astype(np.int64)
    keep = []
    for lo, hi in itertools.pairwise(edges):
        if hi > lo:
            chunk = values[lo:hi]
            keep += sorted({lo + int(np.nanargmin(chunk)), lo + int(np.nanargmax(chunk))})
    return series.iloc[keep]


def times(index: pd.Index) -> list[str]:
    """Timestamps as the text plotly reads for a date axis (minute resolution)."""
    return list(pd.DatetimeIndex(index).strftime("%Y-%m-%d %H:%M"))


def values(series: pd.Series | np.ndarray, decimals: int = 4) -> list[float | None]:
    """Numbers rounded for display, NaN as ``None`` (a gap in the line)."""
    arr = np.round(np.asarray(series, dtype=float), decimals)
    return [None if math.isnan(v) else v for v in arr.tolist()]


class FigureBundle:
    """The figures of one page: :meth:`add` returns a figure's placeholder ``<div>``,
    :meth:`payload` the compressed JSON the page's loader draws them from."""

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
        """Register ``fig`` under ``div_id`` and return its placeholder ``<div>``."""
        if div_id in self._figures:
            raise ValueError(f"two figures with the id {div_id!r}")
        fig.update_layout(margin={"l": 50, "r": 20, "t": 40, "b": 40})
        spec = fig.to_plotly_json()
        layout = {k: v for k, v in spec["layout"].items() if k != "template"}
        self._figures[div_id] = {"data": [self._share(t) for t in spec["data"]], "layout": layout}
        height = int(layout.get("height") or 450)
        return f'<div class="figure" id="{div_id}" style="min-height:{height}px"></div>'

    def __len__(self) -> int:
        return len(self._figures)

    def payload(self) -> str:
        """Every figure, the shared x arrays and the template: JSON, gzip, base64."""
        bundle = {
            "figures": self._figures,
            "axes": {name: list(x) for x, name in self._axes.items()},
            "template": pio.templates[TEMPLATE].to_plotly_json(),
        }
        text = json.dumps(bundle, cls=PlotlyJSONEncoder, separators=(",", ":"))
        return gzip_base64(text.encode("utf-8"))


#: The page's loader: inflate plotly.js and the figures, draw the visible figures, switch
#: the selected tear sheet (drawing its figures the first time it is shown).
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
  function select(label) {
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
