"""Bad input x every ``csl`` command: one clear error line, a non-zero exit, never a traceback.

The commands are discovered from the typer app itself, so a new command (or a new option on an
old one) is fuzzed by construction. The corpus has three parts:

* by value type: every ``float`` option gets NaN, +-infinity and text; every ``int`` option text
  and a fraction;
* by flag: ``--capital``/``--days`` get negative and zero values (``--days`` also 1e9, past any
  ``Timedelta``), ``--journal`` URLs that are not databases and SQLite files that are corrupt
  or truncated, ``--tz`` an unknown zone, date
  options a non-date, ``--venue`` an unknown venue, ``--data`` a corrupt Parquet file,
  ``--config`` and config-file arguments every broken YAML file below;
* by environment, for every command: non-finite and negative settings, a bad
  ``CSL_JOURNAL_URL``, a ``.env`` that is not UTF-8.

Each case asserts exit status != 0 and not the bug status, no traceback, no uncaught
exception, exactly one
``error:`` line, and that the line names the offending option, variable or field.
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from crypto_strategy_lab.cli.errors import EXIT_BUG
from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.config.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = (REPO / "configs" / "production.yaml").read_text(encoding="utf-8")


def _leaf_commands():
    def walk(command, path):
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                yield from walk(sub, (*path, name))
        else:
            yield path, command

    return list(walk(get_command(app), ()))


COMMANDS = _leaf_commands()

# A valid value for every required parameter, so that a case fails on the value it fuzzes.
VALID: dict[str, str] = {
    "strategy": "lag_autocorr",
    "capital": "1000",
    "symbol": "BTCUSDT",
    "timeframe": "1h",
    "since": "2024-01-01",
    "config": "{production}",
    "venue": "bybit",
    "mode": "testnet",
    "run_id": "no-such-run",
}
VALID_FILE = {("config", "validate"): "{production}", ("data", "import"): "{good_csv}"}

# Broken config files: (name, content, a word the error must contain).
YAML_CORPUS: list[tuple[str, bytes, str]] = [
    ("empty", b"", "empty"),
    ("not_utf8", b"kind: deployment\nname: \xff\xfe\n", "UTF-8"),
    ("kind_list", b"kind: [deployment]\n", "kind"),
    ("no_kind", b"name: x\n", "kind"),
    ("top_level_list", b"- 1\n- 2\n", "mapping"),
    ("syntax", b"kind: deployment\nname: [unclosed\n", "line"),
    (
        "duplicate_key",
        PRODUCTION.replace("capital: 10000", "capital: 10000\ncapital: 100000").encode(),
        "duplicate key 'capital'",
    ),
    ("capital_inf", PRODUCTION.replace("capital: 10000", "capital: .inf").encode(), "capital"),
    ("capital_nan", PRODUCTION.replace("capital: 10000", "capital: .nan").encode(), "capital"),
    ("capital_negative", PRODUCTION.replace("capital: 10000", "capital: -5").encode(), "capital"),
    (
        "params_not_int",
        PRODUCTION.replace(
            "    timeframe: 15m\n", "    timeframe: 15m\n    params: {window: abc}\n", 1
        ).encode(),
        "strategies.0.params.window",
    ),
    (
        "params_unknown",
        PRODUCTION.replace(
            "    timeframe: 15m\n", "    timeframe: 15m\n    params: {windw: 5}\n", 1
        ).encode(),
        "strategies.0.params.windw",
    ),
    (
        "simulated_in_live",
        PRODUCTION.replace("mode: simulated ", "mode: live ").encode(),
        "strategies.0.venue",
    ),
    (
        "unknown_venue",
        PRODUCTION.replace("venue: simulated", "venue: kraken", 1).encode(),
        "strategies.0.venue",
    ),
    (
        "weight_inf",
        PRODUCTION.replace(
            "    market: linear\n", "    market: linear\n    weight: .inf\n", 1
        ).encode(),
        "weight",
    ),
    (
        "risk_inf",
        PRODUCTION.replace("max_gross_exposure: 0.5", "max_gross_exposure: .inf").encode(),
        "max_gross_exposure",
    ),
    (
        "journal_url",
        PRODUCTION.replace("capital: 10000", "capital: 10000\njournal_url: notaurl").encode(),
        "journal_url",
    ),
]

ENV_CORPUS: list[tuple[str, dict[str, str], bytes | None, str]] = [
    ("capital_inf", {"DEFAULT_CAPITAL": "inf"}, None, "DEFAULT_CAPITAL"),
    ("capital_nan", {"DEFAULT_CAPITAL": "nan"}, None, "DEFAULT_CAPITAL"),
    ("capital_negative", {"DEFAULT_CAPITAL": "-5"}, None, "DEFAULT_CAPITAL"),
    ("position_nan", {"MAX_POSITION_SIZE": "nan"}, None, "MAX_POSITION_SIZE"),
    ("journal_url", {"CSL_JOURNAL_URL": "notaurl"}, None, "CSL_JOURNAL_URL"),
    ("journal_dialect", {"CSL_JOURNAL_URL": "nosuchdb://x/y"}, None, "CSL_JOURNAL_URL"),
    ("dotenv_not_utf8", {}, b"DEFAULT_CAPITAL=\xff\xfe\n", ".env"),
    ("dotenv_capital_inf", {}, b"DEFAULT_CAPITAL=inf\n", "DEFAULT_CAPITAL"),
]


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    expect: str
    env: tuple[tuple[str, str], ...] = ()
    dotenv: bytes | None = None
    files: tuple[tuple[str, bytes], ...] = ()


def _base_argv(path: tuple[str, ...], command, skip: str | None) -> list[str]:
    """``path`` plus a valid value for every required parameter except ``skip``."""
    argv, options = list(path), []
    for param in command.params:
        if not param.required or param.name == skip:
            continue
        if param.opts[0].startswith("-"):
            options += [param.opts[0], VALID[param.name]]
        else:
            argv.append(VALID_FILE.get(path) or VALID[param.name])
    return argv + options


def _with_value(path, command, param, value: str) -> tuple[str, ...]:
    argv = _base_argv(path, command, skip=param.name)
    if param.opts[0].startswith("-"):
        return (*argv, f"{param.opts[0]}={value}")
    # a positional parameter: put the value where it belongs in the positional order
    positional = [p for p in command.params if not p.opts[0].startswith("-")]
    index = len(path) + positional.index(param)
    return (*argv[:index], value, *argv[index:])


def _values_for(path, param) -> list[tuple[str, str, tuple[tuple[str, bytes], ...]]]:
    """(label, value, files to create) for one parameter."""
    flag = param.opts[0]
    annotation = getattr(param.type_descriptor, "annotation", None)
    out = []
    if annotation is float:
        out += [(v, v, ()) for v in ("nan", "inf", "-inf", "abc")]
    if annotation is int:
        out += [(v, v, ()) for v in ("abc", "1.5")]
    if flag in ("--capital", "--days"):
        out += [("negative", "-5", ()), ("zero", "0", ())]
    if flag == "--days":
        out += [("beyond_timedelta", "1e9", ())]
    if flag == "--journal":
        out += [("notaurl", "notaurl", ()), ("dialect", "nosuchdb://x/y", ())]
        if path != ("dashboard",):  # the dashboard serves a page that names a damaged journal
            out += [
                ("corrupt_journal", "sqlite:///{tmp}/bad.sqlite", (("bad.sqlite", NOT_SQLITE),)),
                ("truncated_journal", "sqlite:///{tmp}/cut.sqlite", (("cut.sqlite", _cut()),)),
            ]
    if flag == "--tz":
        out += [("mars", "Mars/Olympus", ())]
    if flag in ("--since", "--until", "--start", "--end"):
        out += [("notadate", "notadate", ())]
    if flag == "--venue":
        out += [("kraken", "kraken", ()), ("simulated", "simulated", ())]
    if flag == "--data":
        out += [("corrupt_parquet", "{tmp}/bad.parquet", (("bad.parquet", b"PAR1garbage"),))]
    if flag == "--config" or (path, param.name) in {(("config", "validate"), "file")}:
        out += [
            (f"yaml_{name}", f"{{tmp}}/{name}.yaml", ((f"{name}.yaml", content),))
            for name, content, _ in YAML_CORPUS
        ]
    return out


NOT_SQLITE = b"SQLite format 3\x00" + bytes(range(256)) * 16  # a header, then garbage


@functools.cache
def _cut() -> bytes:
    """The first third of a real journal file (a copy cut short by a full disk)."""
    from crypto_strategy_lab.journal import Journal

    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal.open(f"sqlite:///{tmp}/j.sqlite")
        journal.halt("fuzz", actor="test")
        journal.engine.dispose()
        data = (Path(tmp) / "j.sqlite").read_bytes()
    return data[: len(data) // 3]


def _expected(param, label: str) -> str:
    if label.startswith("yaml_"):
        return next(word for name, _, word in YAML_CORPUS if f"yaml_{name}" == label)
    if label == "corrupt_parquet":
        return "bad.parquet"
    if label.endswith("_journal"):
        return "journal"
    return param.opts[0] if param.opts[0].startswith("-") else param.name


def _build_cases() -> list[Case]:
    cases = []
    for path, command in COMMANDS:
        name = "-".join(path)
        for param in command.params:
            for label, value, files in _values_for(path, param):
                cases.append(
                    Case(
                        f"{name}:{param.name}={label}",
                        _with_value(path, command, param, value),
                        _expected(param, label),
                        files=files,
                    )
                )
        for label, env, dotenv, expect in ENV_CORPUS:
            cases.append(
                Case(
                    f"{name}:env={label}",
                    tuple(_base_argv(path, command, skip=None)),
                    expect,
                    env=tuple(env.items()),
                    dotenv=dotenv,
                )
            )
    # `csl config check FILE...` takes a list of files
    for name, content, word in YAML_CORPUS:
        cases.append(
            Case(
                f"config-check:files=yaml_{name}",
                ("config", "check", f"{{tmp}}/{name}.yaml"),
                word,
                files=((f"{name}.yaml", content),),
            )
        )
    # values that only make sense with the rest of one command's input
    dst = b"timestamp,open,high,low,close,volume\n2024-03-10 01:30:00,1,1,1,1,1\n2024-03-10 02:30:00,1,1,1,1,1\n"  # noqa: E501
    cases.append(
        Case(
            "data-import:dst_gap",
            (
                "data",
                "import",
                "{tmp}/dst.csv",
                "--symbol",
                "X",
                "--timeframe",
                "1h",
                "--tz",
                "America/New_York",
            ),
            "--tz",
            files=(("dst.csv", dst),),
        )
    )
    cases.append(
        Case(
            "data-import:corrupt_parquet",
            ("data", "import", "{tmp}/bad.parquet", "--symbol", "X", "--timeframe", "1h"),
            "bad.parquet",
            files=(("bad.parquet", b"PAR1garbage"),),
        )
    )
    return cases


CASES = _build_cases()


def test_every_command_is_fuzzed_and_has_valid_fillers():
    """A new command with a new required parameter must get a valid filler value here."""
    assert len(COMMANDS) >= 20
    for path, command in COMMANDS:
        for param in command.params:
            if param.required and param.opts[0].startswith("-"):
                assert param.name in VALID, f"add a valid --{param.name} for {path} to VALID"
            elif param.required:
                assert path in VALID_FILE or param.name in VALID, f"{path}: {param.name}"
        assert any(c.id.startswith("-".join(path) + ":") for c in CASES), path
    assert len(CASES) > 300


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """A working directory and environment where nothing touches the user's files."""
    for name in ("DEFAULT_CAPITAL", "MAX_POSITION_SIZE", "RISK_FREE_RATE", "CSL_VAULT_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CSL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CSL_JOURNAL_URL", f"sqlite:///{tmp_path / 'journal.sqlite'}")
    monkeypatch.setenv("CSL_VAULT_PATH", str(tmp_path / "keys.vault"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.csv").write_text(
        "timestamp,open,high,low,close,volume\n2024-01-01 00:00:00,1,2,0.5,1.5,10\n"
    )
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_clear_line(case: Case, isolated: Path, monkeypatch):
    for name, content in case.files:
        (isolated / name).write_bytes(content)
    if case.dotenv is not None:
        (isolated / ".env").write_bytes(case.dotenv)
    for name, value in case.env:
        monkeypatch.setenv(name, value)
    subst = {"tmp": str(isolated), "production": str(REPO / "configs" / "production.yaml")}
    subst["good_csv"] = str(isolated / "good.csv")
    argv = [arg.format(**subst) for arg in case.argv]
    result = CliRunner().invoke(app, argv, input="")
    output = result.output
    assert result.exit_code != 0, f"silently accepted: csl {' '.join(argv)}\n{output}"
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"uncaught {type(result.exception).__name__}: {result.exception}"
    )
    assert result.exit_code != EXIT_BUG, f"a bug, not an input error: {output}"
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert case.expect.lower() in errors[0].lower(), errors[0]
