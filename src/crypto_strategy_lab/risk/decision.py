"""Rule verdicts and the engine's decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from crypto_strategy_lab.core.orders import OrderRequest


class RiskAction(StrEnum):
    """What the engine decided for one intent (the journal's ``risk_events.decision``)."""

    APPROVE = "approve"
    RESIZE = "resize"
    REJECT = "reject"
    HALT = "halt"


class VerdictKind(StrEnum):
    """What one rule says about one intent."""

    PASS = "pass"
    CAP = "cap"  # the order may go, at most max_quantity
    REJECT = "reject"  # no new risk; max_quantity is what may still reduce a position
    HALT = "halt"  # trading halted; max_quantity is what may still reduce a position


@dataclass(frozen=True)
class RuleVerdict:
    """One rule's answer. ``max_quantity`` bounds the order (``None``: no bound)."""

    rule: str
    kind: VerdictKind
    reason: str = ""
    max_quantity: Decimal | None = None

    def as_dict(self) -> dict[str, str]:
        """The verdict as strings for the journal.

        Returns
        -------
        dict of str to str
            ``rule``, ``action``, ``reason`` and, only when bounded, ``max_quantity``.
        """
        out = {"rule": self.rule, "action": self.kind.value, "reason": self.reason}
        if self.max_quantity is not None:
            out["max_quantity"] = format(self.max_quantity, "f")
        return out


@dataclass(frozen=True)
class RiskDecision:
    """The engine's answer for one intent.

    ``order`` is what may be sent (resized, with stop-loss/take-profit attached) or ``None``
    when nothing may be sent. ``verdicts`` lists every rule that did not simply pass.
    """

    action: RiskAction
    requested_quantity: Decimal
    approved_quantity: Decimal
    reference_price: Decimal
    order: OrderRequest | None
    rule: str | None
    reason: str
    verdicts: tuple[RuleVerdict, ...] = field(default_factory=tuple)
    risk_event_id: int | None = None

    @property
    def approved(self) -> bool:
        """Whether an order may be sent (approved as requested or resized)."""
        return self.action in (RiskAction.APPROVE, RiskAction.RESIZE)
