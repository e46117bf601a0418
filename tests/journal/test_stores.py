"""The ``Journal`` facade: every public method of every per-aggregate store is a ``Journal``
method that calls that store's method (nothing forgotten, nothing routed to another store)."""

from __future__ import annotations

import inspect

import pytest

from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.journal.alerts import AlertStore
from crypto_strategy_lab.journal.decisions import DecisionStore
from crypto_strategy_lab.journal.fills import FillStore
from crypto_strategy_lab.journal.halts import HaltStore
from crypto_strategy_lab.journal.orders import OrderStore
from crypto_strategy_lab.journal.runs import RunStore
from crypto_strategy_lab.journal.snapshots import SnapshotStore

STORES = (RunStore, OrderStore, FillStore, SnapshotStore, DecisionStore, AlertStore, HaltStore)
# the buffer's bookkeeping hook (journal.writer.BufferIndex), not a journal operation
NOT_FORWARDED = {"detach"}


@pytest.mark.parametrize("store", STORES, ids=lambda s: s.__name__)
def test_the_facade_forwards_every_public_method_of_each_store(store: type) -> None:
    names = [
        name
        for name, member in vars(store).items()
        if inspect.isfunction(member) and not name.startswith("_") and name not in NOT_FORWARDED
    ]
    assert names
    for name in names:
        method = getattr(Journal, name)
        assert method.__wrapped__ is getattr(store, name), name
        assert inspect.signature(method) == inspect.signature(getattr(store, name))


def test_one_store_owns_each_journal_method() -> None:
    owners: dict[str, list[str]] = {}
    for store in STORES:
        for name, member in vars(store).items():
            if inspect.isfunction(member) and not name.startswith("_"):
                owners.setdefault(name, []).append(store.__name__)
    assert {name: who for name, who in owners.items() if len(who) > 1} == {
        "detach": ["OrderStore", "FillStore"]
    }
