"""Spans are declared in time, so a strategy built for bars converts them at those bars' size."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from crypto_strategy_lab.cli.main import app


def test_csl_backtest_converts_spans_at_the_data_bar_size():
    # The bundled crypto bars are 15-minute bars: lag_autocorr's 7-day window is 672 of them
    # (it was 168, i.e. 7 days of the default 1h bars = 42 hours).
    result = CliRunner().invoke(app, ["backtest", "--strategy", "lag_autocorr"])
    assert result.exit_code == 0, result.output
    window = re.search(r"window=7d \((\d+) bars\)", result.output)
    assert window is not None, result.output
    assert int(window.group(1)) == 7 * 24 * 4
