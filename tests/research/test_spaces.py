import itertools

import pytest

from crypto_strategy_lab.research.spaces import (
    LAB_SPACES,
    RULE_SPACE,
    StudySpaceError,
    grid_configs,
    lab_configs,
    lab_space,
    random_configs,
    space_size,
)
from crypto_strategy_lab.strategies import get_strategy, list_strategies


def test_grid_is_the_cartesian_product_in_order():
    space = {"window": [10, 20, 30], "lag": [1, 2]}
    expected = [{"window": w, "lag": k} for w, k in itertools.product([10, 20, 30], [1, 2])]
    assert grid_configs(space) == expected
    assert space_size(space) == 6


def test_random_draws_are_distinct_members_of_the_grid_and_seeded():
    space = {"a": list(range(7)), "b": list(range(5)), "c": ["x", "y"]}
    grid = grid_configs(space)
    draws = random_configs(space, 20, seed=3)
    assert len(draws) == 20
    assert all(d in grid for d in draws)
    assert len({tuple(d.values()) for d in draws}) == 20
    assert random_configs(space, 20, seed=3) == draws
    assert random_configs(space, 20, seed=4) != draws
    # the whole grid when n equals its size
    full = random_configs(space, 70, seed=0)
    assert sorted(tuple(d.values()) for d in full) == sorted(tuple(d.values()) for d in grid)


@pytest.mark.parametrize(
    ("space", "n"),
    [({}, 1), ({"a": []}, 1), ({"a": [1, 2]}, 3), ({"a": [1, 2]}, 0), ({"a": "12"}, 1)],
)
def test_bad_spaces_are_rejected(space, n):
    with pytest.raises(StudySpaceError):
        random_configs(space, n)


def test_every_lab_grid_is_valid_for_its_strategy():
    assert set(LAB_SPACES) == set(list_strategies())
    for name in list_strategies():
        full, quick = grid_configs(lab_space(name)), grid_configs(lab_space(name, quick=True))
        assert len(full) == 6 * 12  # the strategy's axes x band x min_hold x stop
        assert 2 <= len(quick) < len(full)
        for config in full:
            assert config["stop"] in ("fixed", "off", "atr")
            get_strategy(name, {k: v for k, v in config.items() if k != "stop"})


@pytest.mark.parametrize("timeframe", ["1h", "1d"])
def test_lab_configs_cover_every_rule_at_the_timeframe(timeframe):
    for name in list_strategies():
        for quick in (False, True):
            configs = lab_configs(name, timeframe, quick)
            own = len(grid_configs({k: v for k, v in lab_space(name, quick).items()
                                    if k not in RULE_SPACE}))  # fmt: skip
            assert len(configs) == own + 4 and len({str(c) for c in configs}) == len(configs)
            for rule, values in RULE_SPACE.items():
                assert {c[rule] for c in configs} == set(values)
            for config in configs:
                assert config["timeframe"] == timeframe
                get_strategy(name, {k: v for k, v in config.items() if k != "stop"})


def test_lab_configs_leave_out_spans_that_do_not_fit_the_bar_size():
    # variance_ratio's horizon q may cover at most 64 bars: its 1-day value fits hourly bars
    # (24) but not 15-minute bars (96), where that configuration is left out, not run.
    from crypto_strategy_lab.research.spaces import lab_configs
    from crypto_strategy_lab.strategies import strategy_class

    model = strategy_class("variance_ratio").params_model
    hourly, quarter = lab_configs("variance_ratio", "1h"), lab_configs("variance_ratio", "15m")
    assert len(quarter) < len(hourly)
    for config in quarter:
        params = model(**{k: v for k, v in config.items() if k != "stop"})
        assert params.bars("q") <= 64


def test_the_default_study_space_at_a_bar_size_leaves_out_values_that_do_not_fit():
    from crypto_strategy_lab.research.spaces import lab_space, lab_space_at

    full, quarter = lab_space("variance_ratio"), lab_space_at("variance_ratio", "15m")
    assert quarter["timeframe"] == ["15m"]
    assert "1d" in full["q"] and "1d" not in quarter["q"]
    assert lab_space_at("variance_ratio", "1h")["q"] == full["q"]
