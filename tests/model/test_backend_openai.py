"""The OpenAI-compatible backend against tiny real HTTP servers (http.server in a thread),
plus settings resolution (model/config.py)."""

from __future__ import annotations

import base64
import io
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from agent.core.errors import ConfigError, ModelError
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from model.backends.openai_backend import OpenAIModel, load_openai_model, split_spec
from model.config import backend_settings, model_spec, resolve_settings
from model.registry import load_model
from model.vision import to_model_image
from tests.model.chat_server import ChatServer

# OK's prompt_tokens is one constant for every image size: a model whose images are in absolute
# pixels would read that as a resampling server (tests/model/backends/test_resample.py), so the
# tests that send such images turn the check off.
OK = {
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Action: wait()"}}],
    "usage": {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105},
}


class Scripted(ChatServer):
    """A local HTTP server answering from a script of (status, json body, headers), then OK."""

    def __init__(self, script: list[tuple[int, Any, dict[str, str]]]) -> None:
        self.script = list(script)
        super().__init__(lambda _: self.script.pop(0) if self.script else (200, OK, {}))


@pytest.fixture
def server() -> Iterator[Any]:
    made: list[Scripted] = []

    def make(*script: tuple[int, Any, dict[str, str]]) -> Scripted:
        made.append(Scripted(list(script)))
        return made[-1]

    yield make
    for s in made:
        s.close()


def png_obs(w: int = 300, h: int = 200) -> Observation:
    arr = np.random.default_rng(3).integers(0, 255, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return Observation(png=buf.getvalue())


def req(model: OpenAIModel, **kw: Any) -> ModelRequest:
    o = png_obs()
    return ModelRequest(
        "do it", o, o.frame(mode=model.input_mode, convention=model.convention), **kw
    )


def test_payload_sends_the_padded_model_image_losslessly(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATIVE_AGENT_API_KEY", "sekrit")
    srv = server((200, OK, {}))
    m = OpenAIModel("UI-TARS-7B", srv.url)
    r = req(m)
    reply = m.act(r)
    assert reply.text == "Action: wait()"
    assert reply.usage == {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105}
    assert reply.timings["request_s"] > 0
    sent = srv.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == "Bearer sekrit"
    body = sent["json"]
    assert body["model"] == "UI-TARS-7B"
    assert body["skip_special_tokens"] is False  # keep <|box_start|> in UI-TARS output
    assert body["mm_processor_kwargs"] == {"min_pixels": 3136, "max_pixels": 16384 * 784}
    assert body["min_pixels"] == 3136
    parts = [p for m_ in body["messages"] for p in m_["content"] if isinstance(m_["content"], list)]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert len(urls) == 1 and urls[0].startswith("data:image/png;base64,")
    got = np.asarray(Image.open(io.BytesIO(base64.b64decode(urls[0].split(",", 1)[1]))))
    assert got.shape == (224, 308, 3)  # padded to multiples of 28, not resampled
    np.testing.assert_array_equal(got, to_model_image(r.observation.array, r.frame))


def test_png_already_model_sized_is_sent_as_is(server: Any) -> None:
    srv = server((200, OK, {}))
    m = OpenAIModel("gpt-4o", srv.url, check_resample=False)
    o = png_obs(308, 224)
    m.act(ModelRequest("x", o, o.frame(mode="pad", convention="screen")))
    url = next(
        p["image_url"]["url"]
        for p in srv.requests[0]["json"]["messages"][-1]["content"]
        if p["type"] == "image_url"
    )
    assert base64.b64decode(url.split(",", 1)[1]) == o.png


def test_history_images_are_sent(server: Any) -> None:
    srv = server((200, OK, {}))
    m = OpenAIModel(
        "Qwen2.5-VL-7B", srv.url, history_images=2, history_block=1, check_resample=False
    )
    hist = [
        HistoryItem(i, f"step {i}", observation=png_obs(), frame=png_obs().frame())
        for i in range(4)
    ]
    m.act(req(m, history=hist))
    body = srv.requests[0]["json"]
    n = sum(
        p["type"] == "image_url"
        for msg in body["messages"]
        if isinstance(msg["content"], list)
        for p in msg["content"]
    )
    assert n == 3
    assert body["stop"] == ["</tool_call>"] and body["include_stop_str_in_output"] is True


def test_connection_refused_names_the_url_and_the_fix() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    m = OpenAIModel("m", f"http://127.0.0.1:{port}/v1", retries=1, backoff=0.01)
    with pytest.raises(ModelError) as err:
        m.act(req(m))
    msg = str(err.value)
    assert f"http://127.0.0.1:{port}/v1/chat/completions" in msg
    assert "vllm serve" in msg and "agent serve" in msg
    assert "2 attempt(s)" in msg


def test_400_surfaces_the_server_message_without_retrying(server: Any) -> None:
    srv = server((400, {"error": {"message": "max_tokens is too large: 99999"}}, {}))
    m = OpenAIModel("m", srv.url, retries=3, backoff=0.01)
    with pytest.raises(ModelError, match="HTTP 400: max_tokens is too large: 99999"):
        m.act(req(m))
    assert len(srv.requests) == 1


def test_retries_503_then_succeeds(server: Any) -> None:
    srv = server((503, {"detail": "loading"}, {}), (503, {"detail": "loading"}, {}), (200, OK, {}))
    m = OpenAIModel("m", srv.url, retries=3, backoff=0.01, check_resample=False)
    assert m.act(req(m)).text == "Action: wait()"
    assert len(srv.requests) == 3


def test_retries_are_bounded(server: Any) -> None:
    srv = server(*[(429, {"error": {"message": "slow down"}}, {"retry-after": "0"})] * 3)
    m = OpenAIModel("m", srv.url, retries=2, backoff=0.01)
    with pytest.raises(ModelError, match="HTTP 429: slow down"):
        m.act(req(m))
    assert len(srv.requests) == 3


def test_vllm_image_limit_suggests_the_fix(server: Any) -> None:
    msg = "At most 1 image(s) may be provided in one request."
    srv = server((400, {"object": "error", "message": msg, "type": "BadRequestError"}, {}))
    m = OpenAIModel("m", srv.url, history_images=2)
    with pytest.raises(ModelError) as err:
        m.act(req(m))
    assert "--limit-mm-per-prompt" in str(err.value) and "history_images=0" in str(err.value)


def test_spec_parsing_and_registry(server: Any) -> None:
    assert split_spec("ui-tars@http://h:8000/v1") == ("ui-tars", "http://h:8000/v1")
    assert split_spec("org/model@http://h:8000") == ("org/model", "http://h:8000/v1")
    assert split_spec("m", "http://x:1/v1/") == ("m", "http://x:1/v1")
    with pytest.raises(ConfigError):
        split_spec("@http://h:8000/v1")
    with pytest.raises(ConfigError):
        split_spec("m@ftp://h")
    srv = server()
    with pytest.raises(ConfigError, match=r"'device'.*transformers"):  # refused, not dropped
        load_model(f"openai:Qwen2.5-VL-7B@{srv.url}", device="cpu")
    m = load_model(f"openai:Qwen2.5-VL-7B@{srv.url}", max_new_tokens=64)
    assert isinstance(m, OpenAIModel)
    assert (m.family.name, m.format, m.max_new_tokens) == ("qwen2.5-vl", "qwen2.5-vl", 64)
    m2 = load_openai_model("served", base_url=srv.url, family="ui-tars-1.5")
    assert (m2.format, m2.input_mode, m2.base_url) == ("ui-tars-1.5", "resize", srv.url)


# ---- settings: flags > env > config file ---------------------------------------------


def test_settings_precedence(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        'model = "from-file"\nbase_url = "http://file:1/v1"\nmax_new_tokens = 100\n'
        "history_images = 3\n",
        encoding="utf-8",
    )
    env = {"NATIVE_AGENT_MODEL": "from-env", "NATIVE_AGENT_MAX_NEW_TOKENS": "200", "OTHER": "x"}
    got = resolve_settings({"model": "from-flag", "max_new_tokens": None}, env, cfg)
    assert got == {
        "model": "from-flag",
        "base_url": "http://file:1/v1",
        "max_new_tokens": 200,
        "history_images": 3,
    }
    assert resolve_settings({}, {}, None) == {}
    assert model_spec(got) == "openai:from-flag@http://file:1/v1"
    assert backend_settings(got) == {"max_new_tokens": 200, "history_images": 3}


def test_settings_errors_name_their_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NATIVE_AGENT_MAX_NEW_TOKENS"):
        resolve_settings({}, {"NATIVE_AGENT_MAX_NEW_TOKENS": "lots"}, None)
    bad = tmp_path / "bad.toml"
    bad.write_text("max_new_tokns = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown setting 'max_new_tokns'"):
        resolve_settings({}, {}, bad)
    with pytest.raises(ConfigError, match="not found"):
        resolve_settings({}, {}, tmp_path / "missing.toml")
    bad.write_text("model = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve_settings({}, {}, bad)
    with pytest.raises(ConfigError, match="no model name"):
        model_spec({"base_url": "http://x/v1"})


def test_a_request_constraint_replaces_the_backends_own(server: Any) -> None:
    """A planner's or judge's constraint rides on its request (vLLM ``structured_outputs``),
    in place of the format's action schema; a malformed one is refused before sending."""
    s = server()
    model = OpenAIModel(
        "m", s.url, format="json", constrained=True, retries=0, check_resample=False
    )
    model.act(req(model))
    model.act(req(model, constraint={"choice": ["0", "1", "2"]}))
    plain = OpenAIModel("m", s.url, format="json", retries=0, check_resample=False)
    plain.act(req(plain, constraint={"regex": "[0-9]"}))
    own, judged, regex = (r["json"]["structured_outputs"] for r in s.requests)
    assert "json" in own and "choice" not in own
    assert judged == {"choice": ["0", "1", "2"], "disable_any_whitespace": True}
    assert regex == {"regex": "[0-9]", "disable_any_whitespace": True}
    for bad in ({"choice": []}, {"choice": ["a"], "regex": "a"}, {"schema": {}}):
        with pytest.raises(ConfigError, match="constraint"):
            plain.act(req(plain, constraint=bad))
    assert len(s.requests) == 3  # nothing sent for a bad constraint
    model.close()
    plain.close()
