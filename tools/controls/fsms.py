"""Negative controls for chapter 12: lifecycles that leave their tables."""

from __future__ import annotations

from tools.controls import control


@control("fsm-confirm-after-reject", "FSM-003",
         "a rejected claim can still be confirmed (Rejected --ConfirmClaim--> Fact)")
def confirm_after_reject() -> None:
    from reference import fsms

    original = fsms.next_state

    def next_state(machine: str, state: str, event: str) -> str | None:
        if (machine, state, event) == ("claim", "Rejected", "ConfirmClaim"):
            return "Fact"
        return original(machine, state, event)

    fsms.next_state = next_state
