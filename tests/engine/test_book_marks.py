"""The book's last closes: the exact decimal of each bar's float close, read lazily."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from crypto_strategy_lab.engine.book import LastCloses


def test_a_close_reads_as_the_shortest_decimal_of_its_float_and_the_newest_wins() -> None:
    closes = LastCloses()
    closes.set("BTCUSDT", np.float64(0.1) + np.float64(0.2))
    assert closes["BTCUSDT"] == Decimal(repr(0.1 + 0.2)) == Decimal("0.30000000000000004")
    closes.set("BTCUSDT", 30_000.5)
    assert closes["BTCUSDT"] == Decimal("30000.5")  # the cached decimal follows the new close
    closes.set("ETHUSDT", 2_000)
    assert dict(closes) == {"BTCUSDT": Decimal("30000.5"), "ETHUSDT": Decimal("2000.0")}
    assert closes.get("SOLUSDT") is None and len(closes) == 2
    with pytest.raises(KeyError):
        closes["SOLUSDT"]
