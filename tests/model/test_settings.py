"""Every setting of model/config.py does what it says: for each key of SETTINGS, a check of
its effect on the backend that takes it — the OpenAI request body or behaviour against a real
HTTP server on 127.0.0.1, the transformers model built from a tiny checkpoint — or a named
test elsewhere that shows it. A setting the chosen backend does not take is a ConfigError
naming it, its source and the backend that takes it. A key added to SETTINGS without an
entry here fails :func:`test_every_setting_is_covered`."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from agent.cli import main
from agent.core.errors import ConfigError, ModelError
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from model.backends.hf import TransformersModel
from model.backends.openai_backend import OpenAIModel
from model.config import (
    BACKENDS,
    NAME_KEYS,
    SETTINGS,
    backend_settings,
    model_spec,
    resolve_settings,
)
from model.registry import load_model
from tests.model.chat_server import ChatServer, Reply


def png_obs(w: int = 300, h: int = 200) -> Observation:
    arr = np.random.default_rng(3).integers(0, 255, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return Observation(png=buf.getvalue())


OK = {"choices": [{"message": {"role": "assistant", "content": "Action: wait()"}}]}


class Server(ChatServer):
    """127.0.0.1 chat endpoint: records each request (body, headers, arrival time); answers
    ``fail`` times with 503 first, and waits ``stall`` seconds before each answer."""

    def __init__(self, fail: int = 0, stall: float = 0.0) -> None:
        self.fail, self.stall = fail, stall
        super().__init__(self._answer)

    def _answer(self, request: dict[str, Any]) -> Reply:
        time.sleep(self.stall)
        reply: Reply = (503, {"detail": "busy"}, {}) if self.fail > 0 else (200, OK, {})
        self.fail -= 1
        return reply


@pytest.fixture
def server() -> Iterator[Callable[..., Server]]:
    made: list[Server] = []

    def make(**kw: Any) -> Server:
        made.append(Server(**kw))
        return made[-1]

    yield make
    for s in made:
        s.close()


def openai(srv: Server, **settings: Any) -> OpenAIModel:
    """Through the same path as ``agent run``: settings → spec → registry."""
    got = resolve_settings({"model": "qwen2.5-vl-7b", "base_url": srv.url, **settings}, {}, None)
    m = load_model(model_spec(got), **backend_settings(got))
    assert isinstance(m, OpenAIModel)
    return m


def body(srv: Server, **settings: Any) -> dict[str, Any]:
    m = openai(srv, **settings)
    o = png_obs()
    m.act(ModelRequest("open the menu", o, o.frame(mode=m.input_mode, convention=m.convention)))
    return srv.requests[-1]["json"]


def prompt(b: dict[str, Any]) -> str:
    return json.dumps(b["messages"])


# ---- the OpenAI backend: what reaches the wire --------------------------------------------


def check_model(srv: Server) -> None:
    assert body(srv, model="ui-tars-7b")["model"] == "ui-tars-7b"


def check_base_url(srv: Server) -> None:
    body(srv)
    assert len(srv.requests) == 1  # the request went to this server


def check_api_key(srv: Server) -> None:
    body(srv, api_key="sk-local-1")
    assert srv.requests[-1]["headers"]["Authorization"] == "Bearer sk-local-1"


def check_family(srv: Server) -> None:
    assert "start_box" not in prompt(body(srv))
    assert "start_box" in prompt(body(srv, family="ui-tars-1.5"))  # its prompt and format


def check_format(srv: Server) -> None:
    assert openai(srv).format == "qwen2.5-vl"
    m = openai(srv, format="ui-tars-1.5")
    assert (m.format, m.input_mode) == ("ui-tars-1.5", "resize")


def check_max_new_tokens(srv: Server) -> None:
    assert body(srv, max_new_tokens=37)["max_tokens"] == 37


def check_temperature(srv: Server) -> None:
    assert body(srv)["temperature"] == 0.0
    assert body(srv, temperature=0.7)["temperature"] == 0.7


def check_max_image_tokens(srv: Server) -> None:
    big = body(srv, max_image_tokens=20000)["max_pixels"]
    assert big == 20000 * 28 * 28 and body(srv)["max_pixels"] < big


def check_action_space(srv: Server) -> None:
    desktop, mobile = prompt(body(srv)), prompt(body(srv, action_space="mobile"))
    assert "long_press" in mobile and "long_press" not in desktop


def check_language(srv: Server) -> None:
    assert "Use Chinese" in prompt(body(srv, family="ui-tars-1.5", language="Chinese"))


def check_timeout(srv_factory: Callable[..., Server]) -> None:
    slow = srv_factory(stall=1.0)
    with pytest.raises(ModelError, match="did not answer within the timeout"):
        body(slow, timeout=0.2, retries=0)
    assert body(slow, timeout=10.0)["model"]  # the same server, given time, answers


def check_retries(srv_factory: Callable[..., Server]) -> None:
    flaky = srv_factory(fail=2)
    with pytest.raises(ModelError, match="503"):
        body(flaky, retries=1, backoff=0.0)
    assert len(flaky.requests) == 2  # one try plus one retry
    body(flaky, retries=0)  # its third answer is a 200
    assert len(flaky.requests) == 3


def check_backoff(srv_factory: Callable[..., Server]) -> None:
    flaky = srv_factory(fail=1)
    body(flaky, retries=1, backoff=0.4)
    first, second = flaky.requests
    assert second["at"] - first["at"] >= 0.4  # a sleep lasts at least its length


def check_history(srv: Server) -> None:  # the window itself: helper "executor"'s tests
    m = openai(srv, history_images=1, history_steps=3)
    assert (m.history_images, m.history_steps) == (1, 3)


def check_history_block(srv: Server) -> None:
    """Four earlier steps with their screenshots: the sliding window sends the last 2, the
    block of 3 (1 to 3 screenshots, 2 on average) all since step 3; a block that cannot
    keep the average is refused."""

    def images(**settings: Any) -> int:
        m = openai(srv, history_images=2, **settings)
        o = png_obs()
        frame = o.frame(mode=m.input_mode, convention=m.convention)
        old = [HistoryItem(i, f"step {i}", observation=png_obs(), frame=frame) for i in range(6)]
        m.act(ModelRequest("open the menu", o, frame, old))
        return prompt(srv.requests[-1]["json"]).count('"type": "image_url"') - 1

    assert images(history_block=1) == 2
    assert images(history_block=3) == 3  # n = 6: steps ≥ ⌊(6 - 1) / 3⌋ · 3 = 3
    assert images() == 3  # qwen2.5-vl: no authors' window, so blocks of 3 by default
    with pytest.raises(ConfigError, match="history_block"):
        openai(srv, history_images=2, history_block=4)


OPENAI: dict[str, Callable[[Server], None]] = {
    "model": check_model,
    "base_url": check_base_url,
    "api_key": check_api_key,
    "family": check_family,
    "format": check_format,
    "max_new_tokens": check_max_new_tokens,
    "temperature": check_temperature,
    "max_image_tokens": check_max_image_tokens,
    "action_space": check_action_space,
    "language": check_language,
    "history_images": check_history,
    "history_steps": check_history,
    "history_block": check_history_block,
}
OPENAI_SERVERS: dict[str, Callable[[Callable[..., Server]], None]] = {
    "timeout": check_timeout,
    "retries": check_retries,
    "backoff": check_backoff,
}

# ---- the transformers backend, on a tiny checkpoint ----------------------------------------

HF = ("device", "dtype", "attn_implementation", "force_text", "max_new_tokens", "history_images")

# ---- shown by other tests --------------------------------------------------------------
ELSEWHERE = {
    "multi_action": "tests/model/test_backends_hf.py::"
    "test_multi_action_setting_keeps_every_action_of_a_turn",
    "constrained": "tests/model/test_backend_openai_requests.py::"
    "test_constrained_body_is_the_action_schema_on_this_screen",
    "action_schema": "tests/model/test_backend_openai_requests.py::"
    "test_region_schema_and_file_schema",
    "check_resample": "tests/model/backends/test_resample.py::test_check_resample_off",
    "trust_remote_code": "tests/model/test_family_pyautogui.py::"
    "test_trust_remote_code_is_an_opt_in",
}


def test_every_setting_is_covered() -> None:
    covered = set(OPENAI) | set(OPENAI_SERVERS) | set(HF) | set(ELSEWHERE)
    assert covered == set(SETTINGS), f"no effect shown for {sorted(set(SETTINGS) - covered)}"
    for key in SETTINGS:  # and each is taken by some backend
        assert key in NAME_KEYS or any(key in keys for keys in BACKENDS.values()), key
    for where in ELSEWHERE.values():
        path, _, name = where.partition("::")
        assert f"def {name}(" in (Path(__file__).parents[2] / path).read_text(), where


@pytest.mark.parametrize("key", sorted(OPENAI))
def test_openai_setting_reaches_the_request(key: str, server: Callable[..., Server]) -> None:
    OPENAI[key](server())


@pytest.mark.parametrize("key", sorted(OPENAI_SERVERS))
def test_openai_setting_changes_behaviour(key: str, server: Callable[..., Server]) -> None:
    OPENAI_SERVERS[key](server)


def test_transformers_settings_reach_the_model(tiny_qwen: dict[str, Path]) -> None:
    import torch

    path = str(tiny_qwen["qwen2-vl"])
    plain = load_model(path, device="cpu")
    assert isinstance(plain, TransformersModel)
    assert next(plain.model.parameters()).dtype == torch.float32
    assert plain.model.config._attn_implementation == "sdpa"
    forced = "Action: finished()"
    got = resolve_settings(
        {"model": path, "device": "cpu", "dtype": "bfloat16", "attn_implementation": "eager",
         "force_text": forced, "max_new_tokens": 3, "history_images": 1},
        {}, None,
    )  # fmt: skip
    m = load_model(model_spec(got), **backend_settings(got))
    assert isinstance(m, TransformersModel)
    assert str(m.device) == "cpu" and next(m.model.parameters()).dtype == torch.bfloat16
    assert m.model.config._attn_implementation == "eager"
    assert (m.max_new_tokens, m.history_images) == (3, 1)
    o = png_obs()
    request = ModelRequest("go", o, o.frame(mode=m.input_mode, convention=m.convention))
    text = m.act(request).text  # the forced text, cut at 3 new tokens
    assert text and forced.startswith(text) and text != forced
    m.max_new_tokens = 64
    assert m.act(request).text == forced


# ---- a setting the chosen backend does not take ------------------------------------------


def test_a_setting_of_another_backend_is_an_error(
    server: Callable[..., Server], tiny_qwen: dict[str, Path]
) -> None:
    srv = server()
    with pytest.raises(ConfigError, match=r"'device'.*openai.*transformers backend"):
        load_model(f"openai:m@{srv.url}", device="cpu")
    with pytest.raises(ConfigError, match=r"'temperature'.*transformers.*openai backend"):
        load_model(str(tiny_qwen["qwen2-vl"]), temperature=0.5)
    with pytest.raises(ConfigError, match=r"'max_new_tokens'.*ocr"):
        load_model("ocr", max_new_tokens=5)
    with pytest.raises(ConfigError, match="does not take transprt"):
        load_model(f"openai:m@{srv.url}", transprt=None)
    assert not srv.requests


def test_cli_names_the_source_of_a_stray_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NATIVE_AGENT_TEMPERATURE", "0.3")
    assert main(["run", "--task", "x", "--model", "ocr", "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert "NATIVE_AGENT_TEMPERATURE" in err and "openai" in err
    monkeypatch.delenv("NATIVE_AGENT_TEMPERATURE")
    cfg = tmp_path / "c.toml"
    cfg.write_text('device = "cpu"\n')
    argv = ["run", "--task", "x", "--model", "openai:m@http://127.0.0.1:9/v1", "--config"]
    assert main([*argv, str(cfg), "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err
    assert f"config file {cfg}" in err and "'device'" in err and "transformers" in err
