"""Target weights against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.portfolio import PortfolioError, return_statistics, target_weights


def test_equal_weights_by_hand() -> None:
    w = target_weights({"a": 1.0, "b": -0.5, "c": 0.2}, "equal", max_weight=0.2, max_gross=0.5)
    # budget 0.5 / 3 each, times the signal
    assert w.to_dict() == pytest.approx({"a": 0.5 / 3, "b": -0.25 / 3, "c": 0.1 / 3})


def test_inverse_volatility_by_hand() -> None:
    vol = {"a": 0.01, "b": 0.02, "c": 0.04}  # 1/vol = 100, 50, 25 -> 4/7, 2/7, 1/7
    sig = {"a": 1.0, "b": 1.0, "c": 1.0}
    w = target_weights(sig, "inverse_volatility", volatilities=vol, max_weight=1.0)
    assert w.to_dict() == pytest.approx({"a": 2 / 7, "b": 1 / 7, "c": 1 / 14})
    assert w.abs().sum() == pytest.approx(0.5)
    # each strategy's volatility contribution w_s * sigma_s is equal (risk parity, uncorrelated)
    contrib = w * pd.Series(vol)
    assert np.allclose(contrib, contrib.iloc[0])


def test_per_strategy_cap_clips() -> None:
    vol = {"a": 0.01, "b": 0.02, "c": 0.04}
    w = target_weights({"a": 1, "b": -1, "c": 1}, volatilities=vol, max_weight=0.2)
    assert w.to_dict() == pytest.approx({"a": 0.2, "b": -1 / 7, "c": 1 / 14})


def test_per_strategy_caps_by_name() -> None:
    w = target_weights({"a": 1, "b": 1}, "equal", max_weight={"a": 0.05, "b": 0.5}, max_gross=0.5)
    assert w.to_dict() == pytest.approx({"a": 0.05, "b": 0.25})
    with pytest.raises(PortfolioError, match="no per-strategy cap for: b"):
        target_weights({"a": 1, "b": 1}, "equal", max_weight={"a": 0.1})


def test_fractional_kelly_by_hand() -> None:
    # f* = mu / var: a 0.0002 / 0.01 = 0.02 -> half Kelly 0.01, times signal 0.5 = 0.005
    w = target_weights(
        {"a": 0.5, "b": 1.0},
        "fractional_kelly",
        means={"a": 0.0002, "b": -0.001},
        variances={"a": 0.01, "b": 0.01},
        max_weight=0.1,
    )
    assert w["a"] == pytest.approx(0.005)
    assert w["b"] == 0.0  # no edge, no weight


def test_kelly_is_capped_then_gross_scaled() -> None:
    # f* = 10 and 5 -> half Kelly 5 and 2.5 -> both clipped to 0.1 -> gross 0.2 > 0.15
    w = target_weights(
        {"a": 1.0, "b": -1.0},
        "fractional_kelly",
        means={"a": 0.001, "b": 0.0005},
        variances={"a": 0.0001, "b": 0.0001},
        max_weight=0.1,
        max_gross=0.15,
    )
    assert w.to_dict() == pytest.approx({"a": 0.075, "b": -0.075})


def test_default_cap_is_max_position_size() -> None:
    w = target_weights({"a": 1.0}, "equal", max_gross=0.5)
    assert w["a"] == pytest.approx(0.1)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(PortfolioError, match="volatility missing for strateg"):
        target_weights({"a": 1, "b": 1}, volatilities={"a": 0.1})
    with pytest.raises(PortfolioError, match=r"in \[-1, 1\]"):
        target_weights({"a": 1.5}, "equal")
    with pytest.raises(PortfolioError, match="> 0"):
        target_weights({"a": 1}, volatilities={"a": 0.0})
    with pytest.raises(PortfolioError, match="unknown weighting"):
        target_weights({"a": 1}, "optimal")  # type: ignore[arg-type]


def test_return_statistics_match_numpy(rng: np.random.Generator) -> None:
    returns = pd.DataFrame({"a": rng.normal(0.001, 0.01, 500), "b": rng.normal(0, 0.02, 500)})
    stats = return_statistics(returns)
    assert stats.loc["a", "variance"] == pytest.approx(np.var(returns["a"], ddof=1))
    assert stats.loc["b", "volatility"] == pytest.approx(np.std(returns["b"], ddof=1))
    assert stats.loc["a", "mean"] == pytest.approx(np.mean(returns["a"]))
