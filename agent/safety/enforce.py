"""The gate's verdict held until the input (time of check vs time of use).

The gate judges what an action would press from a reading of the screen; the env presses a
little later. :func:`enforce` runs between the two, after the gate allowed an action whose
target it read (``Decision.target``):

* an env that offers :attr:`~agent.core.env.Feature.DISPATCH_GUARD` (the browser) is armed:
  its next step's events may land only on what the gate's reads marked, and an event that
  lands elsewhere is cancelled in the page (:mod:`envs.browser.guard`);
* any other env (desktop, Android) is read again right before the input, the same way the
  gate read it (OCR of the point's line, the UI hierarchy node), and a reading that differs
  from the judged one refuses the action: nothing is pressed.

A refusal is a :class:`~agent.core.errors.TargetChangedError` (code ``target_changed``).
``PolicyGate(dispatch_guard=False)`` (``make_gate(dispatch_guard=False)``) turns both off.
"""

from __future__ import annotations

from typing import Any, Literal

from agent.core.actions import Action
from agent.core.env import Env, Feature
from agent.core.errors import TargetChangedError
from agent.safety.gate import Decision, Gate, PolicyGate
from agent.safety.names import normalise_name
from agent.safety.targets import Target, TargetReader

Enforced = Literal["armed", "reread"]


def enforce(gate: Gate, env: Env, action: Action, decision: Decision) -> Enforced | None:
    """Hold ``decision`` (an allowed one) until ``action`` runs on ``env``: arm the env's
    dispatch guard, or re-read the target now; None when there is nothing to hold (no
    target read, or the gate's ``dispatch_guard`` is off). Raises TargetChangedError."""
    if not isinstance(gate, PolicyGate) or not gate.dispatch_guard or decision.target is None:
        return None
    if env.offers(Feature.DISPATCH_GUARD):
        env.arm(action)
        return "armed"
    reread(gate.reader, action, env, decision.target)
    return "reread"


def reread(reader: TargetReader, action: Action, env: Env, judged: dict[str, Any]) -> None:
    """Read ``action``'s target on a fresh screen; raise when it is not the judged one."""
    now = reader.read(action, env, env.observe())
    if not same_target(judged, now):
        was, new = judged.get("text", ""), now.text if now is not None else ""
        raise TargetChangedError(
            f"what the {action.type} would press changed after the gate read it: "
            f"{was[:80]!r} is now {new[:80]!r}; nothing was pressed, observe again"
        )


def same_target(judged: dict[str, Any], now: Target | None) -> bool:
    """The same reading: source, link and text in the policy's normal form (case, width,
    spacing and look-alike letters do not count; a word that changed does)."""
    if now is None:
        return False
    if judged.get("source") != now.source or judged.get("href") != now.href:
        return False
    return normalise_name(judged.get("text") or "") == normalise_name(now.text)
