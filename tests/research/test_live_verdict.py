"""A gate verdict unlocks ``csl live`` only for what it tested, and only from the audit chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.config.settings import get_settings
from crypto_strategy_lab.journal import make_engine
from crypto_strategy_lab.research import identity
from crypto_strategy_lab.research.identity import code_version, strategy_code_version
from crypto_strategy_lab.research.verdicts import VerdictStore
from crypto_strategy_lab.strategies import get_strategy
from crypto_strategy_lab.validation.gate import Criterion, GateVerdict
from crypto_strategy_lab.validation.trial_log import DataIdentity

runner = CliRunner()
KEYS = {"BYBIT_LIVE_API_KEY": "live-key-123456", "BYBIT_LIVE_API_SECRET": "live-secret-123456"}
ALL = ("dsr", "track_record", "pbo", "walk_forward")
DEFAULTS = get_strategy("lag_autocorr").params.model_dump(mode="json")
# the stop policy a verdict tested, as the lab stores it: the brief's 2 % / 4 % by default
FIXED = {"policy": "fixed", "stop_loss": 0.02, "take_profit": 0.04}
ATR = {"policy": "atr", "stop_loss": 2.0, "take_profit": 4.0, "atr_period": 14}
HOURLY = DataIdentity("f" * 64, "f" * 64, "1h", 8760.0, "file:btc.parquet")
# the code that passed, as the lab stores it: today's lag_autocorr
CODE = strategy_code_version("lag_autocorr")


@pytest.fixture
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    monkeypatch.setenv("CSL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CSL_JOURNAL_URL", url)
    for k, v in KEYS.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear() if hasattr(get_settings, "cache_clear") else None
    return url


def save(
    journal: str, *, criteria=ALL, params=DEFAULTS, stops=FIXED, instrument="BTCUSDT", data=HOURLY,
    code=CODE,
):  # fmt: skip
    verdict = GateVerdict(
        "lag_autocorr", tuple(Criterion(n, 1.0, 0.5, ">=", True) for n in criteria)
    )
    VerdictStore(journal).save(
        "lab-1", verdict, symbol=data.name if data else "",
        params=params if stops is None else {**params, "stops": stops},
        instrument=instrument, data=data, code_version=code,
    )  # fmt: skip


def live(journal: str, *extra: str):
    args = ["live", "--strategy", "lag_autocorr", "--capital", "1000", "--check-only"]
    return runner.invoke(app, [*args, "--confirm", "--journal", journal, *extra])


def refusal(result) -> str:
    return " ".join((result.output + str(result.exception)).split())


def test_a_matching_chained_verdict_passes(journal):
    save(journal)
    result = live(journal)
    assert result.exit_code == 0, refusal(result)
    assert "all three conditions hold" in result.output


def test_a_forged_insert_fails_audit_verify_and_live_refuses(journal):
    save(journal, instrument="ETHUSDT")  # a real journal with a chained verdict elsewhere
    assert runner.invoke(app, ["audit", "verify", "--journal", journal]).exit_code == 0
    with make_engine(journal).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO gate_verdicts (run_id, strategy, symbol, passed, params, criteria, "
                "report_path, created_at, instrument, timeframe, data_fingerprint) VALUES "
                "('forged', 'lag_autocorr', 'x', 1, :params, '[]', '', '2026-01-01', "
                "'BTCUSDT', '1h', 'abc')"
            ),
            {"params": __import__("json").dumps(DEFAULTS)},
        )
    verify = runner.invoke(app, ["audit", "verify", "--journal", journal])
    assert verify.exit_code == 1 and "gate_verdicts" in verify.output
    result = live(journal)
    assert result.exit_code == 1
    assert "audit chain does not verify" in refusal(result)


@pytest.mark.parametrize(
    ("saved", "extra", "reason"),
    [
        (
            {"instrument": "ETHUSDT"},
            [],
            "no passing gate verdict found for lag_autocorr on BTCUSDT",
        ),
        ({}, ["--symbol", "SOLUSDT"], "no passing gate verdict found for lag_autocorr on SOLUSDT"),
        ({}, ["--timeframe", "4h"], "on BTCUSDT 4h"),
        ({"params": {**DEFAULTS, "lag": DEFAULTS["lag"] + 1}}, [], "tested parameters"),
        ({"criteria": ("dsr",)}, [], "lacks criteria pbo, track_record, walk_forward"),
        (
            {"stops": ATR},
            [],
            "tested stops atr: 2/4 ATR(14), not the ones to trade fixed: 2%/4%",
        ),
        (
            {},
            ["--stop-unit", "atr", "--stop-loss", "2", "--take-profit", "4", "--atr-period", "20"],
            "tested stops fixed: 2%/4%, not the ones to trade atr: 2/4 ATR(20)",
        ),
        ({"stops": None}, [], "names no stop policy"),
        ({"code": ""}, [], "names no code version"),
        ({"data": None}, [], "no passing gate verdict found"),  # no timeframe, no fingerprint
    ],
)
def test_a_verdict_about_something_else_refuses(journal, saved, extra, reason):
    save(journal, **saved)
    result = live(journal, *extra)
    assert result.exit_code == 1
    assert "live trading refused" in refusal(result) and reason in refusal(result)


def test_atr_stops_validated_are_the_atr_stops_traded(journal):
    """A verdict that selected 2 / 4 ATR(14) unlocks exactly those exits: from the flags of
    ``csl live`` and from a deployment's ``stops``."""
    import yaml

    from crypto_strategy_lab.cli.trading_cmd import live_refusals
    from crypto_strategy_lab.engine.deployment import DeploymentConfig

    save(journal, stops=ATR)
    flags = ["--stop-unit", "atr", "--stop-loss", "2", "--take-profit", "4"]
    assert live(journal, *flags).exit_code == 0, refusal(live(journal, *flags))
    cfg = DeploymentConfig.model_validate(
        yaml.safe_load(
            """
            name: d
            mode: live
            capital: 1000
            stops: {stop_unit: atr, stop_loss: 2, take_profit: 4, atr_period: 14}
            strategies:
              - {name: lag_autocorr, venue: bybit, symbol: BTCUSDT, timeframe: 1h}
              - {name: lag_autocorr, venue: bybit, symbol: BTCUSDT, timeframe: 1h,
                 stops: {stop_unit: fraction, stop_loss: 0.02, take_profit: 0.04}}
            """
        )
    )
    atr, fixed = (
        live_refusals(
            a.name, a.venue, True, journal, symbol=a.symbol, timeframe=a.timeframe,
            params=a.params, stops=cfg.stops_for(a),
        )
        for a in cfg.strategies
    )  # fmt: skip
    assert atr == []
    assert len(fixed) == 1 and "tested stops atr: 2/4 ATR(14)" in fixed[0]


def edited_copy(tmp_path: Path, edit) -> str:
    """The code version of a copy of lag_autocorr's source files (its package and the
    kernels it imports) with ``edit`` applied to its signal module's source."""
    root = Path(identity.__file__).resolve().parents[1]
    signal = root / "strategies" / "lag_autocorr" / "signal.py"
    copies = []
    for f in identity.strategy_source_files("lag_autocorr"):
        source = f.read_text(encoding="utf-8")
        copy = tmp_path / f.relative_to(root)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(edit(source) if f == signal else source)
        copies.append(copy)
    return code_version(copies, root=tmp_path)


def test_a_verdict_for_other_code_refuses_naming_both_versions(journal, tmp_path, monkeypatch):
    """The strategy was edited after it passed: its old verdict does not unlock live."""
    save(journal)
    edited = edited_copy(tmp_path, lambda s: s + "\nEDITED = 1\n")
    assert edited != CODE
    monkeypatch.setattr(identity, "strategy_code_version", lambda name: edited)
    result = live(journal)
    assert result.exit_code == 1
    assert (
        f"the latest gate verdict for lag_autocorr on BTCUSDT 1h was for code {CODE}, "
        f"the code now is {edited}: re-run the gate"
    ) in refusal(result)


def test_a_docstring_edit_keeps_the_verdict(journal, tmp_path, monkeypatch):
    """Documenting the strategy is not another strategy: the AST version holds."""
    save(journal)
    documented = edited_copy(tmp_path, lambda s: s.replace('"""', '"""Edited. ', 1))
    assert documented == CODE
    monkeypatch.setattr(identity, "strategy_code_version", lambda name: documented)
    result = live(journal)
    assert result.exit_code == 0, refusal(result)
