"""``agent serve``: the OpenAI-compatible app on 127.0.0.1 (random port, real HTTP), driven by
the OpenAI backend, must give the same action as the in-process transformers path."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from agent.cli import build_parser
from agent.core.errors import ConfigError, ModelError
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from agent.serve import BackgroundServer, create_app
from model.backends.hf import TransformersModel, load_hf_model
from model.backends.openai_backend import OpenAIModel
from model.parsers import parse

UITARS15 = "Thought: the button\nAction: click(start_box='(154,98)')"
QWEN2 = "click <|object_ref_start|>OK<|object_ref_end|><|box_start|>(100,100),(200,200)<|box_end|>"


def screenshot(w: int = 300, h: int = 200, seed: int = 0) -> Observation:
    arr = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return Observation(png=buf.getvalue())


def request(model: object, history: list[HistoryItem] | None = None) -> ModelRequest:
    o = screenshot()
    frame = o.frame(mode=model.input_mode, convention=model.convention)  # type: ignore[attr-defined]
    return ModelRequest("Click OK", o, frame, history or [])


@pytest.fixture(scope="module")
def models(tiny_qwen: dict[str, Path]) -> dict[str, TransformersModel]:
    return {
        "qwen2-vl": load_hf_model(str(tiny_qwen["qwen2-vl"]), device="cpu", force_text=QWEN2),
        "ui-tars-1.5": load_hf_model(
            str(tiny_qwen["qwen2.5-vl"]), device="cpu", family="ui-tars-1.5", force_text=UITARS15
        ),
    }


@pytest.fixture
def serve() -> Iterator[object]:
    started: list[BackgroundServer] = []

    def start(model: TransformersModel, **kw: object) -> BackgroundServer:
        started.append(BackgroundServer(create_app(model, served_name="tiny", **kw)).start())
        return started[-1]

    yield start
    for s in started:
        s.stop()


@pytest.mark.parametrize("family", ["qwen2-vl", "ui-tars-1.5"])
def test_served_action_equals_in_process_action(
    models: dict[str, TransformersModel], serve: object, family: str
) -> None:
    local = models[family]
    srv = serve(local)  # type: ignore[operator]
    assert srv.host == "127.0.0.1"
    remote = OpenAIModel("tiny", f"{srv.url}/v1", family=family)
    past = screenshot(seed=5)
    hist = [
        HistoryItem(
            0,
            "Thought: a\nAction: wait()",
            observation=past,
            frame=past.frame(mode=local.input_mode, convention=local.convention),
        )
    ]
    req = request(local, hist)
    mine, theirs = local.act(req), remote.act(req)
    assert theirs.text == mine.text
    assert parse(remote.format, theirs.text, req.frame) == parse(local.format, mine.text, req.frame)
    # the server saw exactly the prompt the in-process path built, images included
    assert theirs.usage["prompt_tokens"] == mine.usage["prompt_tokens"]
    assert theirs.usage["image_tokens"] == mine.usage["image_tokens"] == 2 * req.frame.tokens
    assert theirs.timings["server.prefill_s"] >= 0
    remote.close()


def test_health_models_and_errors(models: dict[str, TransformersModel], serve: object) -> None:
    srv = serve(models["qwen2-vl"], limit_images=1)  # type: ignore[operator]
    with httpx.Client(base_url=srv.url) as c:
        assert c.get("/health").json()["family"] == "qwen2-vl"
        assert c.get("/v1/models").json()["data"][0]["id"] == "tiny"
        r = c.post(
            "/v1/chat/completions",
            json={
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "http://example.com/a.png"}}
                        ],
                    }
                ]
            },
        )
        assert r.status_code == 400 and "data: URLs" in r.json()["error"]["message"]
        r = c.post("/v1/chat/completions", json={"messages": [], "stream": True})
        assert r.status_code == 400
    # the image limit, end to end: the client explains how to fix it
    remote = OpenAIModel("tiny", f"{srv.url}/v1", family="qwen2-vl", history_images=2)
    past = screenshot(seed=1)
    with pytest.raises(ModelError, match="--limit-mm-per-prompt"):
        remote.act(request(remote, [HistoryItem(0, "x", observation=past, frame=past.frame())]))
    # a wrong model name is a 404 whose message reaches the user
    wrong = OpenAIModel("other", f"{srv.url}/v1", family="qwen2-vl")
    with pytest.raises(ModelError, match="HTTP 404: The model `other` does not exist"):
        wrong.act(request(wrong))


def test_api_key_is_enforced(
    models: dict[str, TransformersModel], serve: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NATIVE_AGENT_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    srv = serve(models["qwen2-vl"], api_key="k1")  # type: ignore[operator]
    anon = OpenAIModel("tiny", f"{srv.url}/v1", family="qwen2-vl")
    with pytest.raises(ModelError, match="HTTP 401"):
        anon.act(request(anon))
    keyed = OpenAIModel("tiny", f"{srv.url}/v1", family="qwen2-vl", api_key="k1")
    assert keyed.act(request(keyed)).text == QWEN2


def test_serve_command_is_registered() -> None:
    args = build_parser().parse_args(["serve", "some/model", "--port", "8123", "--force-text", "x"])
    assert args.command == "serve" and args.port == 8123 and args.host == "127.0.0.1"
    assert args.force_text == "x" and callable(args.func)


def test_serve_without_a_model_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NATIVE_AGENT_MODEL", raising=False)
    monkeypatch.delenv("NATIVE_AGENT_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    args = build_parser().parse_args(["serve"])
    with pytest.raises(ConfigError, match="needs a MODEL"):
        args.func(args)


@pytest.mark.slow
def test_agent_serve_subprocess(tiny_qwen: dict[str, Path], tmp_path: Path) -> None:
    """The real command: start, answer one request over HTTP, stop."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    env.pop("NATIVE_AGENT_CONFIG", None)
    cmd = [
        sys.executable,
        "-m",
        "agent.cli",
        "serve",
        str(tiny_qwen["qwen2-vl"]),
        "--port",
        str(port),
        "--device",
        "cpu",
        "--served-model-name",
        "tiny",
        "--force-text",
        QWEN2,
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "agent serve did not come up"
            time.sleep(0.2)
        remote = OpenAIModel("tiny", f"{url}/v1", family="qwen2-vl")
        req = request(remote)
        reply = remote.act(req)
        assert reply.text == QWEN2
        assert parse("qwen2-vl", reply.text, req.frame).actions[0].target == "OK"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
