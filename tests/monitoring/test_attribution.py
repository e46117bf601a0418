"""Attribution against hand-computed P&L and closed-form / statsmodels OLS numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.monitoring.attribution import (
    AttributionError,
    asset_class,
    factor_attribution,
    fill_position_mismatches,
    open_positions,
    pnl_attribution,
    realized_pnl,
)


def fills_frame(rows: list[tuple]) -> pd.DataFrame:
    cols = ["strategy", "venue", "symbol", "side", "quantity", "price", "fee"]
    frame = pd.DataFrame(rows, columns=cols)
    frame.insert(0, "ts", pd.date_range("2024-01-01", periods=len(rows), freq="h", tz="UTC"))
    return frame


def test_realized_pnl_average_cost_by_hand() -> None:
    frame = fills_frame(
        [
            ("a", "bybit", "BTCUSDT", "BUY", 1.0, 100.0, 0.1),
            ("a", "bybit", "BTCUSDT", "BUY", 1.0, 110.0, 0.1),  # avg 105
            ("a", "bybit", "BTCUSDT", "SELL", 1.5, 120.0, 0.1),  # +1.5*15 = 22.5
            (
                "a",
                "bybit",
                "BTCUSDT",
                "SELL",
                1.0,
                100.0,
                0.1,
            ),  # 0.5*(100-105) = -2.5; short 0.5@100
            ("a", "bybit", "BTCUSDT", "BUY", 0.5, 90.0, 0.1),  # short covered: 0.5*(100-90) = +5
            ("b", "bybit", "BTCUSDT", "SELL", 2.0, 100.0, 0.0),  # another book: opens a short
        ]
    )
    out = realized_pnl(frame)
    np.testing.assert_allclose(out["realized_pnl"], [0, 0, 22.5, -2.5, 5.0, 0.0])


def test_pnl_attribution_by_strategy_and_venue() -> None:
    frame = fills_frame(
        [
            ("a", "bybit", "BTCUSDT", "BUY", 1.0, 100.0, 1.0),
            ("a", "bybit", "BTCUSDT", "SELL", 1.0, 130.0, 1.0),  # +30
            ("b", "alpaca", "SPY", "BUY", 10.0, 50.0, 0.0),
            ("b", "alpaca", "SPY", "SELL", 10.0, 49.0, 0.0),  # -10
        ]
    )
    pnl = realized_pnl(frame)
    unreal = pd.DataFrame({"strategy": ["b"], "unrealized_pnl": [4.0]})
    by_strategy = pnl_attribution(pnl, "strategy", unrealized=unreal)
    assert by_strategy.loc["a", "net_pnl"] == pytest.approx(28.0)  # 30 - 2 fees
    assert by_strategy.loc["b", "net_pnl"] == pytest.approx(-6.0)  # -10 + 4 unrealised
    assert by_strategy.loc["a", "share"] == pytest.approx(28.0 / 34.0)
    assert by_strategy.loc["b", "share"] == pytest.approx(-6.0 / 34.0)
    assert by_strategy["trades"].tolist() == [2, 2]

    pnl["asset_class"] = [asset_class(v, None) for v in pnl["venue"]]
    by_venue = pnl_attribution(pnl, ["venue", "asset_class"])
    assert by_venue.loc[("bybit", "crypto_perp"), "net_pnl"] == pytest.approx(28.0)
    assert by_venue.loc[("alpaca", "equity"), "net_pnl"] == pytest.approx(-10.0)


def test_asset_class() -> None:
    assert asset_class("alpaca", None) == "equity"
    assert asset_class("bybit", "spot") == "crypto_spot"
    assert asset_class("bybit", None) == "crypto_perp"
    assert asset_class("simulated", "stock") == "equity"
    assert asset_class("simulated", None) == "crypto"


def test_factor_attribution_matches_closed_form_and_recovers_beta(rng) -> None:
    n = 2_000
    market = pd.Series(rng.normal(0.0005, 0.02, n))
    strategy = 0.0003 + 0.6 * market + pd.Series(rng.normal(0.0, 0.01, n))
    fa = factor_attribution(strategy, market)

    m, r = market.to_numpy(), strategy.to_numpy()
    beta = np.cov(r, m, ddof=1)[0, 1] / np.var(m, ddof=1)
    alpha = r.mean() - beta * m.mean()
    assert fa.beta == pytest.approx(beta, rel=1e-10)
    assert fa.alpha == pytest.approx(alpha, rel=1e-8)
    assert fa.r_squared == pytest.approx(np.corrcoef(r, m)[0, 1] ** 2, rel=1e-10)
    # known process: beta 0.6, within 4 standard errors (se ~ 0.01 / (0.02 sqrt(n)) = 0.011)
    assert abs(fa.beta - 0.6) < 4 * 0.01 / (0.02 * np.sqrt(n))
    # exact split of the total return: market part + residual part (residuals sum to 0)
    assert fa.market_return + fa.residual_return == pytest.approx(fa.total_return, abs=1e-12)
    assert fa.residual_return == pytest.approx(n * fa.alpha, rel=1e-8)
    # classical t-stat by hand
    resid = r - alpha - beta * m
    s2 = resid @ resid / (n - 2)
    se_beta = np.sqrt(s2 / ((m - m.mean()) @ (m - m.mean())))
    assert fa.beta_tstat == pytest.approx(beta / se_beta, rel=1e-8)


def test_factor_attribution_hac_changes_errors_not_estimates(rng) -> None:
    market = pd.Series(rng.normal(0, 0.02, 500))
    strategy = 0.8 * market + pd.Series(rng.normal(0, 0.01, 500)).rolling(5, min_periods=1).mean()
    plain, hac = (
        factor_attribution(strategy, market),
        factor_attribution(strategy, market, hac_lags=5),
    )
    assert hac.beta == pytest.approx(plain.beta)
    assert hac.beta_tstat != pytest.approx(plain.beta_tstat)


def test_factor_attribution_bad_inputs() -> None:
    with pytest.raises(AttributionError, match="at least 3"):
        factor_attribution(pd.Series([0.1, 0.2]), pd.Series([0.1, 0.2]))
    with pytest.raises(AttributionError, match="constant"):
        factor_attribution(pd.Series([0.1, 0.2, 0.3]), pd.Series([0.0, 0.0, 0.0]))
    with pytest.raises(AttributionError, match="lacks column"):
        realized_pnl(pd.DataFrame({"ts": []}))


def test_open_positions_marked_on_the_ledger_basis() -> None:
    frame = fills_frame(
        [
            ("a", "bybit", "BTCUSDT", "BUY", 2.0, 100.0, 0.0),
            ("a", "bybit", "BTCUSDT", "SELL", 1.0, 110.0, 0.0),  # 1 left at avg 100
            ("b", "bybit", "ETHUSDT", "SELL", 3.0, 50.0, 0.0),
            ("b", "bybit", "ETHUSDT", "BUY", 3.0, 40.0, 0.0),  # flat
        ]
    )
    ledger = realized_pnl(frame)
    marks = pd.Series({"BTCUSDT": 120.0, "ETHUSDT": 45.0})
    [row] = open_positions(ledger, marks).to_dict("records")
    assert (row["strategy"], row["quantity"], row["average_price"]) == ("a", 1.0, 100.0)
    assert row["unrealized_pnl"] == pytest.approx(20.0)


def test_fill_position_mismatches_flags_missing_fills() -> None:
    ledger = realized_pnl(fills_frame([("a", "bybit", "BTCUSDT", "BUY", 1.0, 100.0, 0.0)]))
    consistent = pd.DataFrame(
        {"strategy": ["a"], "venue": ["bybit"], "symbol": ["BTCUSDT"], "quantity": [1.0]}
    )
    assert fill_position_mismatches(ledger, consistent).empty
    missing = consistent.assign(quantity=[-0.5])  # the venue holds a short the fills never saw
    [row] = fill_position_mismatches(ledger, missing).to_dict("records")
    assert (row["from_fills"], row["journaled"]) == (1.0, -0.5)
    extra_book = pd.concat(
        [consistent, consistent.assign(strategy="b", quantity=[2.0])], ignore_index=True
    )
    [row] = fill_position_mismatches(ledger, extra_book).to_dict("records")
    assert row["strategy"] == "b" and row["from_fills"] == 0.0
