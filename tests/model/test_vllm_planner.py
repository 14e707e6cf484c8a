"""Multi-call agents against the real vLLM CPU build (tiny random checkpoints): a constrained
planner through ``agent run --planner`` end to end on the bundled flights site, and a
two-pass zoom grounding whose second request carries the crop itself. A random model's
choices mean nothing; what is checked is the wire (the constraint and the image each request
carried), that every answer the engine sampled was read, and that everything is recorded."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from PIL import Image

from agent.core.observation import Observation
from agent.episode.recording import load_episode
from model.grounders.base import Grounded
from model.grounders.registry import load_grounder
from model.grounders.zoom import ZoomGrounder
from model.parsers.grammar import PLANNER_POINTER, bbox_schema, planner_schema
from model.planner import read_answer
from tests.model.vllm_servers import Servers

pytestmark = pytest.mark.timeout(900)

AGENT = [sys.executable, "-m", "agent.cli"]
_LINE = re.compile(r'^"(.*)" at \(\d+, \d+\)$', re.M)


@pytest.mark.browser
def test_a_constrained_text_planner_runs_the_cli_end_to_end(
    vllm_servers: Servers, tmp_path: Path
) -> None:
    """``agent run --planner openai:TINY@URL --text-planner --grounder ocr`` with
    ``constrained = true``: each planner request is held to the planner answer (targets: the
    OCR labels it was shown), so every sampled answer is read and each target grounds; the
    default gate stays in front; every request and grounding is in the step lines."""
    server = vllm_servers.get("qwen2-vl")
    out = tmp_path / "ep"
    env = {**os.environ, "NATIVE_AGENT_CONSTRAINED": "1", "NATIVE_AGENT_FORMAT": "json",
           "NATIVE_AGENT_MAX_NEW_TOKENS": "400"}  # fmt: skip
    proc = subprocess.run(
        [*AGENT, "run", "--task", "flights/book-cheapest", "--planner",
         f"openai:{server.name}@{server.base_url}", "--text-planner", "--grounder", "ocr",
         "--max-steps", "3", "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # success is not required
    ep = load_episode(out)
    assert ep.meta["model"]["constrained"] is True and ep.meta["model"]["text_only"] is True
    assert ep.meta["grounder"] == "ocr" and ep.steps
    grounded = 0
    for step in ep.steps:
        trace = step["trace"]
        prompt, raw = trace["planner"]["prompt"], trace["planner"]["raw"]
        labels = _LINE.findall(prompt)
        assert labels, prompt  # the text-only planner was shown the screen's lines
        jsonschema.validate(json.loads(raw), planner_schema(labels))  # the engine obeyed
        action, description = read_answer(raw)  # and the planner read it
        assert trace["planner"]["usage"]["completion_tokens"] > 0
        if action["type"] in PLANNER_POINTER or description is not None:
            g = trace["grounding"]
            assert g["description"] == description and g["grounder"] == "ocr"
            grounded += g["ok"]
            if g["ok"]:
                assert step["actions"][0]["action"]["point"] == g["point"]
    # a click on a label the model picked from the screen grounds (OCR reads what it listed)
    assert grounded >= 1 or all(
        json.loads(s["trace"]["planner"]["raw"])["type"] not in PLANNER_POINTER for s in ep.steps
    )


def _png(url: str) -> np.ndarray:
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _record_posts(model: Any) -> list[dict[str, Any]]:
    """Every request body ``model`` POSTs from now on (the wire, as the server gets it)."""
    bodies: list[dict[str, Any]] = []
    post = model.post

    def recording(body: dict[str, Any]) -> dict[str, Any]:
        bodies.append(body)
        return post(body)

    model.post = recording
    return bodies


def _images(body: dict[str, Any]) -> list[str]:
    return [
        p["image_url"]["url"]
        for m in body["messages"]
        if isinstance(m["content"], list)
        for p in m["content"]
        if p["type"] == "image_url"
    ]


def test_two_pass_zoom_sends_the_native_crop_to_vllm(vllm_servers: Servers) -> None:
    """A constrained Qwen2.5-VL grounder behind vLLM, zoom always: request 1 carries the
    whole screenshot, request 2 the crop around the first answer (native px, grid-aligned
    so the server reads it as is), each held to the cookbook's ``bbox_2d`` on its own image;
    the final point comes back inside the crop, on the screen."""
    server = vllm_servers.get("qwen2.5-vl")
    inner = load_grounder(f"openai:{server.name}@{server.base_url}", constrained=True,
                          max_new_tokens=200, retries=0)  # fmt: skip
    model = inner.model  # type: ignore[attr-defined]
    bodies = _record_posts(model)
    rng = np.random.default_rng(5)
    obs = Observation(array=rng.integers(0, 256, (336, 560, 3), dtype=np.uint8))
    zoom = ZoomGrounder(inner, "always", size=(280, 168), factor=28)
    try:
        got = zoom.ground(obs, "the Search button")
    finally:
        model.close()
    assert isinstance(got, Grounded), got
    z = got.zoom or {}
    assert len(bodies) == 2 and z.get("zoomed") is True, z
    first, second = (_images(b) for b in bodies)
    assert len(first) == len(second) == 1
    whole, crop_img = _png(first[0]), _png(second[0])
    assert whole.shape == (336, 560, 3) and np.array_equal(whole, obs.array)
    x1, y1, x2, y2 = (int(v) for v in got.crop or ())
    assert (x2 - x1, y2 - y1) == (280, 168)  # the requested window, shifted in at an edge
    assert np.array_equal(crop_img, obs.array[y1:y2, x1:x2])  # the crop itself, not resized
    for body, (w, h) in zip(bodies, ((560, 336), (280, 168)), strict=True):
        frame = model.family.frame(w, h, action_space="grounding")
        assert body["structured_outputs"]["json"] == bbox_schema(frame)
    assert x1 <= got.point[0] <= x2 and y1 <= got.point[1] <= y2
    assert got.prompt and "Locate the Search button" in got.prompt


def test_the_judge_answers_one_candidate_index_under_the_choice_constraint(
    vllm_servers: Servers,
) -> None:
    """The best-of-N judge behind vLLM: its request carries ``{"choice": ["0", "1", "2"]}``,
    so even a random model answers exactly one valid index, read without a fallback."""
    from model.backends.openai_backend import OpenAIModel
    from model.judge import Judge

    server = vllm_servers.get("qwen2-vl")
    model = OpenAIModel(server.name, server.base_url, format="json", max_new_tokens=8,
                        retries=0)  # fmt: skip
    bodies = _record_posts(model)
    rng = np.random.default_rng(9)
    obs = Observation(array=rng.integers(0, 256, (280, 420, 3), dtype=np.uint8))
    cands = ['{"type": "click", "target": "\\"Search\\""}', '{"type": "scroll"}',
             '{"type": "finish", "status": "success"}']  # fmt: skip
    try:
        verdicts = [
            Judge(model).choose("find a flight", cands, obs, kind=k) for k in ("step", "run")
        ]
    finally:
        model.close()
    for v, body in zip(verdicts, bodies, strict=True):
        assert body["structured_outputs"] == {"choice": ["0", "1", "2"],
                                              "disable_any_whitespace": True}  # fmt: skip
        assert v.fallback is None and v.raw in ("0", "1", "2") and v.index == int(v.raw)
        assert v.usage["completion_tokens"] >= 1
