"""PBO by CSCV: near 0 with one truly superior configuration, about 0.5 for pure noise."""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
import pytest
from scipy.stats import rankdata

from crypto_strategy_lab.validation import pbo_logits, probability_of_backtest_overfitting
from crypto_strategy_lab.validation.pbo import PBOError


def test_one_truly_superior_configuration_gives_pbo_near_zero(rng: np.random.Generator) -> None:
    x = rng.normal(0.0, 0.01, size=(1600, 20))
    x[:, 7] += 0.0015  # per-period SR 0.15 vs 0 for the others
    res = pbo_logits(x)
    assert res.pbo <= 0.05
    assert np.mean(res.is_best == 7) > 0.95
    assert len(res.logits) == comb(16, 8)


def test_pure_noise_gives_pbo_about_one_half(rng: np.random.Generator) -> None:
    values = [
        probability_of_backtest_overfitting(rng.normal(0, 0.01, (800, 16)), 8) for _ in range(40)
    ]
    # the IS winner's OOS rank is uniform under the null: PBO has expectation 1/2
    assert np.mean(values) == pytest.approx(0.5, abs=0.1)
    assert np.mean(values) >= 0.4


def _zero_if_constant(block: np.ndarray) -> np.ndarray:
    # the documented rule: a configuration without variance in a half has Sharpe ratio 0
    # there, judged on the values (a float std of identical values can be 1e-18, not 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = block.mean(0) / block.std(0, ddof=1)
    return np.where(np.ptp(block, axis=0) == 0, 0.0, ratio)


def _direct_cscv(x: np.ndarray, s: int) -> tuple[list, list, list]:
    """A literal reading of Bailey et al. (2017): loop over the splits, rank with
    scipy.stats.rankdata (1 = worst), w = rank / (N + 1), logit."""
    blocks = np.split(x[: len(x) // s * s], s)
    logits, is_sharpe, oos_sharpe = [], [], []
    for is_blocks in combinations(range(s), s // 2):
        ins = np.vstack([blocks[i] for i in is_blocks])
        oos = np.vstack([blocks[i] for i in range(s) if i not in is_blocks])
        sr_is, sr_oos = _zero_if_constant(ins), _zero_if_constant(oos)
        best = np.argmax(sr_is)
        w = rankdata(sr_oos)[best] / (x.shape[1] + 1)
        logits.append(np.log(w / (1 - w)))
        is_sharpe.append(sr_is[best])
        oos_sharpe.append(sr_oos[best])
    return logits, is_sharpe, oos_sharpe


def test_logits_match_a_direct_implementation(rng: np.random.Generator) -> None:
    # the configurations have different means and scales, and the winner's Sharpe ratios are
    # compared by value: ranks alone do not see a wrong row count (any count above the true
    # one maps every Sharpe ratio through the same increasing function)
    x = rng.normal(0.0, 1.0, size=(60, 5)) * [1.0, 0.01, 3.0, 1.0, 50.0]
    x += [0.2, 0.004, 0.3, -0.1, 10.0]
    x[:, 2] += 0.3 * rng.normal(size=60)
    s = 6
    expected, is_sharpe, oos_sharpe = _direct_cscv(x, s)
    res = pbo_logits(x, n_splits=s)
    np.testing.assert_allclose(res.logits, expected, rtol=1e-12)
    assert res.pbo == pytest.approx(np.mean(np.array(expected) <= 0))
    np.testing.assert_allclose(res.is_sharpe, is_sharpe, rtol=1e-9)
    np.testing.assert_allclose(res.oos_sharpe, oos_sharpe, rtol=1e-9)


@pytest.mark.parametrize("level", [0.1, 0.01, -0.05])
def test_a_configuration_without_variance_has_sharpe_ratio_zero(
    rng: np.random.Generator, level: float
) -> None:
    # a configuration that never trades (all zeros) and one with a constant return: with
    # the sums-of-squares variance, rounding once gave the constant 0.1 a Sharpe ratio of
    # 8e7, so it won every split in-sample
    x = rng.normal(0.0, 0.01, size=(160, 4))
    x[:, 0] = 0.0
    x[:, 1] = level
    expected, is_sharpe, oos_sharpe = _direct_cscv(x, 8)
    res = pbo_logits(x, n_splits=8)
    np.testing.assert_allclose(res.logits, expected, rtol=1e-12)
    np.testing.assert_allclose(res.is_sharpe, is_sharpe, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.oos_sharpe, oos_sharpe, rtol=1e-9, atol=1e-12)


def test_the_default_is_sixteen_blocks(rng: np.random.Generator) -> None:
    # S = 16 is the paper's choice and the documented default
    x = rng.normal(0.0, 0.01, size=(35, 3)) + np.array([0.0, 0.002, -0.001])
    logits, _, _ = _direct_cscv(x, 16)
    assert probability_of_backtest_overfitting(x) == pytest.approx(np.mean(np.array(logits) <= 0))


def test_bad_inputs() -> None:
    with pytest.raises(PBOError, match="even"):
        probability_of_backtest_overfitting(np.zeros((100, 3)), n_splits=5)
    with pytest.raises(PBOError, match="2 configurations"):
        probability_of_backtest_overfitting(np.zeros((100, 1)))
    with pytest.raises(PBOError, match="blocks"):
        probability_of_backtest_overfitting(np.zeros((20, 3)), n_splits=16)
    for shape in ((100,), (10, 10, 3)):
        with pytest.raises(PBOError, match=r"\(T, N\)"):
            probability_of_backtest_overfitting(np.zeros(shape))


def test_smallest_valid_inputs(rng: np.random.Generator) -> None:
    # two configurations, two blocks (S = 2: C(2, 1) = 2 splits) and blocks of exactly two
    # rows are enough
    assert len(pbo_logits(rng.normal(size=(10, 2)), n_splits=2).logits) == 2
    assert len(pbo_logits(rng.normal(size=(33, 3)), n_splits=16).logits) == comb(16, 8)


def test_selector_products_run_on_one_blas_thread(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the (C(S, S/2) x S) @ (S x N) products are tiny: BLAS threads cost more than they save
    from threadpoolctl import threadpool_info

    from crypto_strategy_lab.validation import pbo

    seen: list[list[int]] = []
    real = pbo._blas()

    class Spy:
        def limit(self, **kwargs: object):
            seen.append(kwargs)
            return real.limit(**kwargs)

    monkeypatch.setattr(pbo, "_blas", Spy)
    x = rng.normal(0.0, 0.01, size=(800, 6))
    pbo_logits(x)
    assert seen == [{"limits": 1, "user_api": "blas"}]
    with real.limit(limits=1, user_api="blas"):
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
