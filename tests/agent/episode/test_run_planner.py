"""``agent run --planner scripted:FILE --grounder ocr`` books the flight in real Chromium: the
planner file holds only instructions (no coordinates), the OCR grounder finds every target,
the gate asks before the payment, and the site's server state shows the booking."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agent.episode.recording import load_episode

pytestmark = pytest.mark.browser

AGENT = [sys.executable, "-m", "agent.cli"]

PLAN = [
    'type "BOS" into "From" and press enter',
    'type "SFO" into "To" and press enter',
    'type "2026-03-14" into "Departure date"',
    "press escape",
    'click "Search flights"',
    'click "Nonstop only"',
    'click "Cheapest"',
    'click "Select" #1',
    'type "Ada Lovelace" into "Full name"',
    'type "ada@example.com" into "Email"',
    'click "Continue to payment"',
    'type "4242 4242 4242 4242" into "Card number"',
    'type "12/30" into "Expiry date"',
    'type "123" into "CVC"',
    'click "Pay now"',
    'finish "booked"',
]


def test_a_scripted_planner_with_the_ocr_grounder_books_the_flight(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"format": "instructions", "outputs": PLAN}))
    text = plan.read_text()
    # only descriptions and instructions: no point, no number pair, no coordinate key
    assert not re.search(r"\d\s*,\s*\d|point|coordinate|\bx\s*[=:]", text, re.I)
    out = tmp_path / "ep"
    proc = subprocess.run(
        [*AGENT, "run", "--task", "flights/book-cheapest", "--planner", f"scripted:{plan}",
         "--grounder", "ocr", "--out", str(out), "--max-steps", "24", "--yes", "--quiet"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    ep = load_episode(out)
    ev = ep.outcome["evaluation"]  # judged from the flights server's state
    assert ev["success"] is True and ev["bookings"] == 1 and ev["card_last4"] == "4242"
    assert ev["flight"] == ev["expected_flight"]
    assert ep.meta["planner"] == f"scripted:{plan}" and ep.meta["grounder"] == "ocr"
    assert "never write coordinates" in ep.meta["model"]["planner_prompt"].lower()
    # every step records the planner's answer; every grounded one its grounding
    assert [s["trace"]["planner"]["raw"] for s in ep.steps] == PLAN
    grounded = [s for s in ep.steps if "description" in s["trace"]]
    assert len(grounded) == 14  # all but "press escape" and "finish"
    for s in grounded:
        g, act = s["trace"]["grounding"], s["actions"][0]["action"]
        assert g["ok"] and g["grounder"] == "ocr" and g["latency_s"] > 0
        assert (
            act["point"] == g["point"] and act.get("target", g["description"]) == g["description"]
        )
    # the gate asked exactly once: before the payment (answered by --yes)
    asked = [
        (s["trace"]["planner"]["raw"], a["gate"])
        for s in ep.steps
        for a in s["actions"]
        if a["gate"].get("confirmation")
    ]
    assert [raw for raw, _ in asked] == ['click "Pay now"']
    gate = asked[0][1]
    assert gate["confirmation"] == {"by": "--yes", "ok": True}
    assert gate["target"]["text"].startswith("Pay now")
