"""The hosted backends in the real agent loop (examples/board_env.py at DSF 2: a 1920×1080
screenshot), against the local API stand-ins: vendor safety checks go through our gate
(denied with nobody to ask, acknowledged only after a person approves), and Anthropic's
zoom is served from the full-resolution screenshot inside one step."""

from __future__ import annotations

import io
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.episode.runner import run
from agent.safety.gate import ConfirmRequest, Gate, PolicyGate
from agent.safety.policy import Policy
from board_env import BoardEnv
from tests.model.backends.hosted.fakes import (
    Fake,
    FakeAnthropic,
    FakeGemini,
    FakeOpenAI,
    size_of,
)

CHECK = "The page asks you to pay: confirm with the user"


def _fake(vendor: str) -> Fake:
    """A click on OK (CSS (100, 65) = screenshot (200, 130)) that the vendor wants a person
    to confirm, then the end of the task."""
    if vendor == "openai-cua":
        check = {"id": "sc_1", "code": "malicious_instructions", "message": CHECK}
        return FakeOpenAI([FakeOpenAI.click(1, 142, 92, [check]), FakeOpenAI.done("stopped")])
    return FakeGemini([FakeGemini.click(1, 104, 120, CHECK), FakeGemini.done("stopped")])


def _episode(tmp_path: Path, fake: Fake, gate: Gate | None) -> tuple[Any, BoardEnv]:
    env = BoardEnv(size=(960, 540), scale=2.0)
    try:
        ep = run(
            "press OK", env=env, model=fake.model(), out=tmp_path / "ep", gate=gate,
            no_gate=gate is None,
        )  # fmt: skip
    finally:
        fake.close()
    return ep, env


@pytest.mark.parametrize("vendor", ["openai-cua", "gemini"])
def test_a_vendor_check_with_nobody_to_ask_is_denied_and_never_acknowledged(
    tmp_path: Path, vendor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # no TTY, and no --yes
    fake = _fake(vendor)
    ep, env = _episode(tmp_path, fake, PolicyGate(Policy(rules=()), confirm="auto"))
    assert env.state.buttons[0].clicks == 0  # the action never ran
    rec = ep.steps[0]["actions"][0]
    assert rec["action"]["type"] == "click" and "result" not in rec
    assert rec["error_code"] == "denied" and "vendor-safety" in rec["error"]
    assert rec["gate"]["verdict"] == "allow"  # our policy had no objection
    v = rec["vendor_confirmation"]
    assert v["verdict"] == "deny" and v["rule"] == "vendor-safety-check"
    assert v["confirmation"] == {"by": "non-interactive: nobody to ask", "ok": False}
    assert v["checks"][0]["message"] == CHECK
    assert len(fake.requests) == 2
    assert all(fake.acks(body) == [] for body in fake.requests)  # never acknowledged
    second = str(fake.requests[1])
    assert "declined" in second  # the conversation restarted, saying why
    if vendor == "openai-cua":
        assert "previous_response_id" not in fake.requests[1]
        assert not any(i.get("type") == "computer_call_output" for i in fake.requests[1]["input"])
    assert ep.outcome["answer"] == "stopped"


@pytest.mark.parametrize("vendor", ["openai-cua", "gemini"])
def test_a_vendor_check_a_person_approves_is_acknowledged_next_request(
    tmp_path: Path, vendor: str
) -> None:
    asked: list[ConfirmRequest] = []

    def person(request: ConfirmRequest) -> bool:
        asked.append(request)
        return True

    fake = _fake(vendor)
    ep, env = _episode(tmp_path, fake, PolicyGate(Policy(rules=()), confirm=person))
    assert env.state.buttons[0].clicks == 1
    assert len(asked) == 1 and CHECK in asked[0].reason and asked[0].action.type == "click"
    rec = ep.steps[0]["actions"][0]
    assert rec["vendor_confirmation"]["confirmation"] == {"by": "callback", "ok": True}
    assert rec["input"] == {"point": [100, 65]}  # CSS px of the OK button
    first, second = fake.requests
    assert fake.acks(first) == []
    if vendor == "openai-cua":
        assert fake.acks(second) == [
            {"id": "sc_1", "code": "malicious_instructions", "message": CHECK}
        ]
        assert second["previous_response_id"] == "resp_1"
    else:
        assert fake.acks(second) == ["true"]
    (png,) = fake.images(second)  # the screen after the click
    assert size_of(png) == ((1365, 768) if vendor == "openai-cua" else (1440, 810))


def test_a_vendor_check_with_the_gate_off_is_denied(tmp_path: Path) -> None:
    fake = _fake("openai-cua")
    ep, env = _episode(tmp_path, fake, None)
    assert env.state.buttons[0].clicks == 0
    rec = ep.steps[0]["actions"][0]
    assert rec["error_code"] == "denied" and "gate is off" in rec["error"]
    assert all(fake.acks(body) == [] for body in fake.requests)


def test_anthropic_zoom_is_served_in_the_same_step_then_the_click_lands(tmp_path: Path) -> None:
    zoom = FakeAnthropic.tool(1, {"action": "zoom", "region": [100, 50, 300, 150]})
    fake = FakeAnthropic([zoom, FakeAnthropic.click(2, 149, 97), FakeAnthropic.done("done")])
    ep, env = _episode(tmp_path, fake, PolicyGate(Policy(rules=()), confirm="no"))
    assert env.state.buttons[0].clicks == 1 and ep.success
    assert [s["actions"][0]["action"]["type"] for s in ep.steps] == ["click", "finish"]
    assert ep.steps[0]["timings"]["model.rounds"] == 2.0  # the zoom never left the model
    assert ep.steps[0]["frame"]["input_w"] == 1429 and ep.steps[0]["frame"]["resampled"]
    tool = fake.requests[0]["tools"][0]
    assert tool["type"] == "computer_20251124" and tool["enable_zoom"] is True
    assert tool["display_width_px"] == 1429 and tool["display_height_px"] == 804
    # the zoom: 200×100 display px = 268.7×134.3 screenshot px, at native resolution
    (crop,) = fake.images(fake.requests[1])
    w, h = size_of(crop)
    assert abs(w - 200 * 1920 / 1429) <= 1.5 and abs(h - 100 * 1080 / 804) <= 1.5
    result = fake.requests[1]["messages"][-1]["content"][0]
    assert result["tool_use_id"] == "toolu_1" and "is_error" not in result
    # the click's result carries the new screenshot at the declared size
    (after,) = fake.images(fake.requests[2])
    assert size_of(after) == (1429, 804)


def test_anthropic_zoom_at_the_screen_edge_is_clipped_and_off_it_is_an_error(
    tmp_path: Path,
) -> None:
    """The bottom-right corner, past the display's edge: the crop (agent/core/crops.py)
    clipped to the screen, its pixels the screenshot's own; a region wholly off it → error."""
    edge = FakeAnthropic.tool(1, {"action": "zoom", "region": [1329, 704, 1500, 900]})
    off = FakeAnthropic.tool(2, {"action": "zoom", "region": [1430, 0, 1500, 50]})
    script = [edge, off, FakeAnthropic.click(3, 149, 97), FakeAnthropic.done("done")]
    fake = FakeAnthropic(script)
    ep, env = _episode(tmp_path, fake, PolicyGate(Policy(rules=()), confirm="no"))
    assert env.state.buttons[0].clicks == 1 and ep.success
    (crop,) = fake.images(fake.requests[1])
    x1, y1 = math.floor(1329 * 1920 / 1429), math.floor(704 * 1080 / 804)
    assert size_of(crop) == (1920 - x1, 1080 - y1)  # clipped at the edge, never resized
    shot = Image.open(ep.screenshot_path(0)).convert("RGB").crop((x1, y1, 1920, 1080))
    assert Image.open(io.BytesIO(crop)).convert("RGB").tobytes() == shot.tobytes()
    result = fake.requests[2]["messages"][-1]["content"][0]
    assert result["tool_use_id"] == "toolu_2" and result["is_error"] is True
    assert "empty or off the display" in result["content"][0]["text"]


def test_a_point_off_the_declared_display_goes_back_to_the_model_as_an_error(
    tmp_path: Path,
) -> None:
    script = [FakeAnthropic.click(1, 1429, 97), FakeAnthropic.click(2, 149, 97)]
    fake = FakeAnthropic([*script, FakeAnthropic.done("done")])
    ep, env = _episode(tmp_path, fake, PolicyGate(Policy(rules=()), confirm="no"))
    assert env.state.buttons[0].clicks == 1  # only the second, in-bounds click ran
    first, second = ep.steps[0]["attempts"]
    assert first["error_code"] == "parse" and "outside the 1920x1080" in first["error"]
    assert "error" not in second
    result = fake.requests[1]["messages"][-1]["content"][0]
    assert result["tool_use_id"] == "toolu_1" and result["is_error"] is True
    assert "outside" in result["content"][0]["text"]
