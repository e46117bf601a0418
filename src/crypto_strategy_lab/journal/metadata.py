"""Import every module that declares journal tables, so ``Base.metadata`` is complete."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from sqlalchemy import MetaData

from crypto_strategy_lab.journal.db import Base

# The trial log (validation's table) and the gate verdicts (research's table) live on the
# same Base in journal/trials.py and journal/verdicts.py.
_MODEL_MODULES = (
    "crypto_strategy_lab.journal.models",
    "crypto_strategy_lab.journal.trials",
    "crypto_strategy_lab.journal.verdicts",
)


def load_all_models() -> MetaData:
    """``Base.metadata`` with every journal table registered.

    Imports each model module that is installed (a module that is absent is skipped, so a
    trimmed install still gets the tables it has).

    Returns
    -------
    sqlalchemy.MetaData
        The journal's one declarative metadata: the trading tables, the trial log and the
        gate verdicts.
    """
    for name in _MODEL_MODULES:
        if find_spec(name) is not None:
            import_module(name)
    return Base.metadata
