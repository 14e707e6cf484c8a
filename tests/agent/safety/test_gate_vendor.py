"""``PolicyGate.confirm_required``: a vendor's safety check is always put to a person."""

from __future__ import annotations

import io
import sys

import pytest

from agent.core.actions import Click
from agent.safety.gate import ConfirmRequest, PolicyGate
from agent.safety.policy import Policy
from board_env import BoardEnv

CLICK = Click(point=(100, 65))


def _ask(gate: PolicyGate) -> tuple[str, dict | None]:
    env = BoardEnv()
    obs = env.reset()
    d = gate.confirm_required(CLICK, env, obs, ["looks like a payment"])
    assert d.rule == "vendor-safety-check" and "looks like a payment" in (d.reason or "")
    return d.verdict, d.confirmation


def test_every_way_of_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # not a terminal
    allow_all = Policy(rules=())  # the policy itself would allow the click
    assert _ask(PolicyGate(allow_all)) == (
        "deny",
        {"by": "non-interactive: nobody to ask", "ok": False},
    )
    assert _ask(PolicyGate(allow_all, confirm="yes")) == ("allow", {"by": "--yes", "ok": True})
    assert _ask(PolicyGate(allow_all, confirm="no"))[0] == "deny"
    seen: list[ConfirmRequest] = []
    assert _ask(PolicyGate(allow_all, confirm=lambda r: seen.append(r) or False))[0] == "deny"
    assert seen and "vendor asks" in seen[0].prompt()

    def broken(request: ConfirmRequest) -> bool:
        raise RuntimeError("boom")

    verdict, how = _ask(PolicyGate(allow_all, confirm=broken))
    assert verdict == "deny" and how == {"by": "callback failed: RuntimeError", "ok": False}
    lenient = Policy(rules=(), non_interactive="allow")  # the policy's own choice
    assert _ask(PolicyGate(lenient))[0] == "allow"
