"""The verifier's fast encodings equal the generic canonical encoding they stand in for.

``event_hash`` writes the canonical JSON of an audit event's fixed shape directly, and the
verifier encodes SQLite's stored decimal and time texts without parsing them; each must give
byte for byte what ``canonical_json`` of the parsed values gives (the chain written before
these fast paths must keep verifying).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.journal.audit import AUDITED_MODELS, chain_hash, event_hash
from crypto_strategy_lab.journal.equity import EQUITY_COLUMNS
from crypto_strategy_lab.journal.types import (
    JournalError,
    _generic_json,
    canonical_json,
    decimal_text,
    exact_decimal,
    stored_decimal_text,
    stored_time_json,
)

from .helpers import T0, legacy_equity_point, populate

_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
_times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


@given(
    seq=st.integers(1, 10**12),
    ts=_times,
    kind=_text,
    entity_table=st.none() | _text,
    entity_key=st.none() | _text,
    run_id=st.none() | _text,
    payload=_text,
)
def test_event_hash_is_the_chain_hash_of_the_event_content(  # type: ignore[no-untyped-def]
    seq, ts, kind, entity_table, entity_key, run_id, payload
) -> None:
    content = {
        "seq": seq,
        "ts": ts,
        "kind": kind,
        "entity_table": entity_table,
        "entity_key": entity_key,
        "run_id": run_id,
        "payload": payload,
    }
    fields = {k: v for k, v in content.items() if k != "seq"}
    assert event_hash("ab" * 32, seq=seq, **fields) == chain_hash("ab" * 32, content)


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None)
    .filter(lambda d: abs(d) < Decimal(10) ** 19)
    .map(lambda d: format(d, "f"))
)
def test_a_stored_decimal_text_encodes_as_its_decimal(stored: str) -> None:
    assert stored_decimal_text(stored) == decimal_text(Decimal(stored))


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None)
    | st.decimals(
        allow_nan=False, allow_infinity=False, places=25, min_value=-(10**19), max_value=10**19
    )
    | st.decimals(allow_nan=False, allow_infinity=False, places=24).map(lambda d: d.scaleb(-6))
    | st.builds(
        lambda digits, exponent: Decimal(digits).scaleb(exponent),
        st.integers(-(10**28), 10**28),
        st.integers(-30, 10),
    )
    | st.sampled_from(
        [
            Decimal(text)
            for text in (
                *("-0", "-0.000", "1.50", "1E+2", "0E-25"),
                *("9" * 20 + "." + "9" * 19, "-" + "9" * 20 + "." + "9" * 19),
                *("0.0000009999999999999999999", "0.000001000000000000000001"),
                *("1" * 21 + ".5", "5E-19", "1.5E-18", "-2.5E-18"),
            )
        ]
    )
)
def test_decimal_text_is_the_text_of_the_exact_decimal(value: Decimal) -> None:
    # its already-canonical shortcut must give what rounding and normalising gives
    assert decimal_text(value) == format(exact_decimal(value), "f")


@given(st.datetimes(timezones=st.timezones()))
def test_epoch_microseconds_of_a_datetime_and_of_its_pandas_timestamp(ts: datetime) -> None:
    import pandas as pd

    from crypto_strategy_lab.journal.equity import epoch_us

    expected = calendar.timegm(ts.utctimetuple()) * 10**6 + ts.microsecond
    assert epoch_us(ts) == expected == epoch_us(pd.Timestamp(ts))


def test_epoch_microseconds_refuse_a_naive_time() -> None:
    import pandas as pd

    from crypto_strategy_lab.journal.equity import epoch_us

    for naive in (datetime(2024, 1, 1), pd.Timestamp("2024-01-01")):
        with pytest.raises(JournalError, match="timezone-aware"):
            epoch_us(naive)


def test_stored_decimal_texts_that_are_not_canonical_are_normalised() -> None:
    for stored, expected in [("-0", "0"), ("0.10", "0.1"), ("007", "7"), ("1E+2", "100")]:
        assert stored_decimal_text(stored) == expected == decimal_text(Decimal(stored))


@given(_times)
def test_a_stored_time_encodes_as_its_utc_datetime(ts: datetime) -> None:
    stored = ts.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    assert stored_time_json(stored) == canonical_json(ts)
    assert stored_time_json(stored[:19]) == canonical_json(ts.replace(microsecond=0))


def test_every_stored_record_encodes_as_its_audited_payload(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The verifier's reading of each audited table (raw texts) against the ORM reading."""
    from crypto_strategy_lab.journal.audit import _record_reader, audit_payload, record_payload

    journal = Journal.open(f"sqlite:///{tmp_path / 'j.sqlite'}")
    run_id = populate(journal)
    legacy_equity_point(journal, run_id, T0, Decimal("10000.000000000000000001"))
    journal.record_equity(
        run_id,
        ts=datetime(2024, 3, 1, tzinfo=UTC) + timedelta(microseconds=7),
        equity=Decimal("-0.000000000000000001"),
        cash=Decimal("123456789012345678.5"),
    )
    with journal.session() as session:
        conn = session.connection()
        checked = 0
        for model, _key in AUDITED_MODELS.values():
            query, canonical = _record_reader(model.__table__, "sqlite")
            raw = conn.execute(query).all()
            orm = session.scalars(select(model)).all()
            assert [canonical(r) for r in raw] == [
                canonical_json(audit_payload(model.__table__, record_payload(o))) for o in orm
            ]
            checked += len(raw)
        assert checked > 10


def _both_passes(journal: Journal):  # type: ignore[no-untyped-def]
    """The fast pass's answer and the exact pass's ``(n_events, head, problems)``."""
    from crypto_strategy_lab.journal.audit import (
        _chain_problems,
        _check_records,
        _clean_journal,
    )

    with journal.engine.connect() as conn:
        fast = _clean_journal(conn)
        check = _chain_problems(conn)
        check.written_once_problems()
        _check_records(conn, check)
    return fast, (check.n_events, check.head, check.problems)


def test_the_fast_pass_proves_a_journal_the_exact_pass_finds_clean(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every audited table (floats, JSON documents, booleans, odd decimals and times): the
    SQLite fast pass accepts what the journal wrote, with the exact pass's count and head."""
    journal = Journal.open(f"sqlite:///{tmp_path / 'j.sqlite'}")
    run_id = populate(journal)
    journal.record_equity(
        run_id,
        ts=datetime(2024, 3, 1, tzinfo=UTC) + timedelta(microseconds=7),
        equity=Decimal("-0.000000000000000001"),
        cash=Decimal("123456789012345678.5"),
    )
    fast, (n_events, head, problems) = _both_passes(journal)
    assert problems == []
    assert fast == (n_events, head)


_odd_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@pytest.fixture(scope="module")
def event_journal(tmp_path_factory) -> Journal:  # type: ignore[no-untyped-def]
    """One journal for all examples (a migration per example would dominate the test)."""
    return Journal.open(f"sqlite:///{tmp_path_factory.mktemp('fast') / 'j.sqlite'}")


@settings(deadline=None, max_examples=60)
@given(kind=_odd_text, run_id=st.none() | _odd_text, key=st.none() | _odd_text, data=_odd_text)
def test_the_fast_pass_accepts_only_what_the_exact_pass_accepts(  # type: ignore[no-untyped-def]
    event_journal, kind, run_id, key, data
) -> None:
    """Audit events with any text (quotes, control characters, DEL, non-ASCII): where the
    fast pass answers, it gives the exact pass's answer, and it answers for every ASCII text
    but DEL (SQLite writes DEL and non-ASCII characters unescaped, and hands those chains to
    the exact pass)."""
    from crypto_strategy_lab.journal.audit import append_audit_event

    journal = event_journal
    with journal.session() as session:
        append_audit_event(
            session,
            kind=kind,
            ts=datetime(2024, 3, 1, tzinfo=UTC),
            payload={"data": data},
            run_id=run_id,
            entity_table="not_a_table",
            entity_key=key,
        )
        session.commit()
    fast, (n_events, head, problems) = _both_passes(journal)
    assert problems == []
    if fast is not None:
        assert fast == (n_events, head)
    texts = [kind, run_id or "", key or ""]
    if all(value.isascii() and "\x7f" not in value for value in texts):
        assert fast is not None
    _reset_chain(journal)


def _reset_chain(journal: Journal) -> None:
    """Drop the example's event: a chain the fast pass handed over stays out of the next."""
    with journal.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))


_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d) < Decimal(10) ** 19
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | _text
    | _decimals
    | _times
    | st.floats(allow_nan=False, allow_infinity=False)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300)
@given(record=st.dictionaries(_text, _values, max_size=8))
def test_the_flat_record_path_writes_what_json_dumps_writes(record: dict) -> None:  # type: ignore[type-arg]
    # canonical_json writes a flat dict's members one by one (every record payload takes that
    # path); it must be the generic json.dumps encoding byte for byte, or old chains break
    assert canonical_json(record) == _generic_json(record)


def test_the_flat_record_path_refuses_what_the_generic_path_refuses() -> None:
    from crypto_strategy_lab.journal.types import JournalError

    for bad in (Decimal("NaN"), float("inf"), datetime(2024, 1, 1)):
        with pytest.raises((JournalError, ValueError)):
            canonical_json({"x": bad})
        with pytest.raises((JournalError, ValueError)):
            _generic_json({"x": bad})


def test_an_equity_block_holds_the_points_given_and_its_event_their_sha256() -> None:
    """Points recorded in one batch are one block: its stored arrays (zlib-compressed JSON)
    are the exact decimal texts and epoch microseconds of the points (computed here
    independently), its audit payload carries the SHA-256 of the stored bytes, and reading it
    back gives the points."""
    journal = Journal.open("sqlite://")
    run_id = populate(journal)
    given = [
        {
            "equity": Decimal("10000.123456789012345678"),
            "cash": Decimal("9000.5"),
            "gross_exposure": Decimal("1000.25"),
            "net_exposure": Decimal("-1000.25"),
            "realized_pnl": Decimal("-999.50"),
            "unrealized_pnl": Decimal("0.0000000000000000014"),  # 19 places: rounds to 1e-18
        },
        {name: Decimal(0) for name in EQUITY_COLUMNS},
        {name: Decimal("-0.0") for name in EQUITY_COLUMNS},  # negative zero is zero
    ]
    times = [
        datetime(2024, 3, 1, 12, 30, tzinfo=UTC) + timedelta(microseconds=k) for k in (0, 7, 8)
    ]
    with journal.batch():
        for ts, values in zip(times, given, strict=True):
            journal.record_equity(run_id, ts=ts, **values)
    with journal.session() as s:
        ((stored, n_points, block_id),) = s.execute(
            text("SELECT points, n_points, id FROM equity_blocks WHERE n_points = 3")
        ).all()
        (payload,) = s.execute(
            text(
                "SELECT payload FROM audit_events WHERE entity_table = 'equity_blocks' "
                "AND entity_key = :id"
            ),
            {"id": str(block_id)},
        ).scalars()
    content = json.loads(zlib.decompress(stored))
    assert n_points == 3 and content["ts"] == [
        calendar.timegm(t.timetuple()) * 10**6 + t.microsecond for t in times
    ]
    assert content["unrealized_pnl"] == ["0.000000000000000001", "0", "0"]
    assert content["equity"] == ["10000.123456789012345678", "0", "0"]
    assert content["realized_pnl"][0] == "-999.5"
    assert (
        zlib.decompress(stored)
        == json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    )
    digest = "sha256:" + hashlib.sha256(stored).hexdigest()
    assert json.loads(payload)["points"] == digest and json.loads(payload)["id"] == block_id
    points = journal.equity_points(run_id).iloc[-3:]  # after populate's point
    assert list(points["ts"]) == times
    assert [points[name].iloc[0] for name in EQUITY_COLUMNS] == [
        exact_decimal(given[0][name]) for name in EQUITY_COLUMNS
    ]
    assert journal.verify().ok


def test_an_equity_point_that_cannot_be_journaled_fails_its_caller_and_holds_nothing() -> None:
    journal = Journal.open("sqlite://")
    run_id = populate(journal)
    events = journal.verify().n_events
    with journal.batch():
        with pytest.raises(JournalError, match="finite"):
            journal.record_equity(run_id, ts=T0, equity=Decimal("NaN"), cash=Decimal(1))
        with pytest.raises(JournalError, match="timezone-aware"):
            journal.record_equity(run_id, ts=datetime(2024, 1, 1), equity=Decimal(1), cash=1)
    assert journal.verify().n_events == events
    assert len(journal.equity_points(run_id)) == 1  # populate's point only


def test_every_journal_column_is_named_by_its_key() -> None:
    # the batch writer inserts a record's audit payload dict (column names) as its row
    # (column keys): one dict for both holds only while the two agree
    from crypto_strategy_lab.journal.metadata import load_all_models

    differ = [
        (t.name, c.name, c.key)
        for t in load_all_models().tables.values()
        for c in t.columns
        if c.name != c.key
    ]
    assert differ == []
