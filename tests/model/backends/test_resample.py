"""A server that resamples our images is caught by its token counts (model/backends/resample.py),
against the stand-in chat server (tests/model/chat_server.py) counting tokens as a Qwen
server does: every image smart-resized under the stand-in's ``max_pixels``, then one token a
grid cell, plus text tokens that differ between requests."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from agent.core.coords import MIN_PIXELS, image_tokens, smart_resize
from agent.core.errors import ModelError, ResampledInputError, error_code
from agent.core.model import ModelRequest
from agent.core.observation import Observation
from agent.serve import BackgroundServer, create_app
from model.backends.hf import load_hf_model
from model.backends.openai_backend import OpenAIModel
from model.backends.resample import probe_image, server_input_size
from tests.model.chat_server import ChatServer, Reply
from tests.model.vllm_servers import CAPPED_MAX_PIXELS

BIG = 16384 * 28 * 28  # Qwen2-VL's default max_pixels: keeps any screenshot here as it is


def image_sizes(body: dict[str, Any]) -> list[tuple[int, int]]:
    out = []
    for m in body["messages"]:
        for p in m["content"] if isinstance(m["content"], list) else []:
            if p["type"] == "image_url":
                data = base64.b64decode(p["image_url"]["url"].split(",", 1)[1])
                out.append(Image.open(io.BytesIO(data)).size)
    return out


def text_tokens(body: dict[str, Any]) -> int:
    words = 0
    for m in body["messages"]:
        parts = m["content"] if isinstance(m["content"], list) else [{"text": m["content"]}]
        words += sum(len(p.get("text", "").split()) for p in parts)
    return 20 + words


class QwenServer:
    """Answers like a Qwen server whose images are smart-resized under ``max_pixels``
    (``trusted``: a request's ``mm_processor_kwargs.max_pixels`` replaces it). ``report``:
    ``prompt`` (usage.prompt_tokens), ``image`` (also usage.image_tokens, as ``agent serve``)
    or ``none``; ``tokenize``: answer vLLM's /tokenize; ``refuse_kwargs``: HTTP 400 for a
    request that carries mm_processor_kwargs (vLLM without --trust-request-mm-kwargs)."""

    def __init__(
        self,
        max_pixels: int = BIG,
        *,
        factor: int = 28,
        report: str = "prompt",
        tokenize: bool = False,
        trusted: bool = False,
        refuse_kwargs: bool = False,
    ) -> None:
        self.max_pixels, self.factor, self.report = max_pixels, factor, report
        self.tokenize, self.trusted, self.refuse_kwargs = tokenize, trusted, refuse_kwargs
        self.chat = ChatServer(self.answer)

    def image_tokens(self, body: dict[str, Any]) -> int:
        cap = self.max_pixels
        if self.trusted:
            cap = (body.get("mm_processor_kwargs") or {}).get("max_pixels", cap)
        total = 0
        for w, h in image_sizes(body):
            rh, rw = smart_resize(h, w, self.factor, MIN_PIXELS, cap)
            total += image_tokens(rw, rh, self.factor)
        return total

    def answer(self, request: dict[str, Any]) -> Reply:
        body = request["json"]
        if self.refuse_kwargs and body.get("mm_processor_kwargs"):
            err = {"message": "Per-request mm_processor_kwargs are disabled by default"}
            err.update(type="BadRequestError", param="mm_processor_kwargs")
            return 400, {"error": err}, {}
        images = self.image_tokens(body)
        prompt = text_tokens(body) + images
        if request["path"] == "/tokenize":
            if not self.tokenize:
                return 404, {"detail": "Not Found"}, {}
            return 200, {"count": prompt, "max_model_len": 8192, "tokens": []}, {}
        usage: dict[str, int] = {"prompt_tokens": prompt, "completion_tokens": 3}
        if self.report == "image":
            usage["image_tokens"] = images
        reply: dict[str, Any] = {
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "wait()"}}]
        }
        if self.report != "none":
            reply["usage"] = usage
        return 200, reply, {}

    @property
    def url(self) -> str:
        return self.chat.url

    @property
    def paths(self) -> list[str]:
        return [r["path"] for r in self.chat.requests]


@pytest.fixture
def qwen_server() -> Iterator[Any]:
    made: list[QwenServer] = []

    def make(*args: Any, **kw: Any) -> QwenServer:
        made.append(QwenServer(*args, **kw))
        return made[-1]

    yield make
    for s in made:
        s.chat.close()


def request(
    w: int,
    h: int,
    convention: Any = "abs",
    max_tokens: int = 16384,
    factor: int = 28,
    mode: Any = "pad",
) -> ModelRequest:
    obs = Observation(array=np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8))
    frame = obs.frame(mode=mode, convention=convention, max_tokens=max_tokens, factor=factor)
    return ModelRequest("Open the settings", obs, frame)


def client(srv: QwenServer, **kw: Any) -> OpenAIModel:
    return OpenAIModel("qwen-test", srv.url, family="qwen2-vl", retries=0, **kw)


CHAT = "/v1/chat/completions"


# ---- the prompt-token path: two probes per (server, image size), then the cache --------
def test_a_server_that_keeps_the_size_passes_and_is_probed_once(qwen_server: Any) -> None:
    srv = qwen_server()
    m = client(srv)
    m.act(request(1280, 720))
    # the step, a /tokenize the stand-in does not offer, the two probes
    assert srv.paths == [CHAT, "/tokenize", CHAT, CHAT]
    probe, ref = (r["json"] for r in srv.chat.requests[2:])
    assert image_sizes(probe) == [(1288, 728)] and image_sizes(ref) == [(448, 448)]
    assert probe["max_tokens"] == 1 and probe["mm_processor_kwargs"] == ref["mm_processor_kwargs"]
    m.act(request(1280, 720, max_tokens=16384))
    assert len(srv.paths) == 5  # the same size again: measured already
    assert m.describe()["input_check"] == "probe"


def test_a_capped_server_is_caught_with_the_size_it_used(qwen_server: Any) -> None:
    srv = qwen_server(max_pixels=512 * 28 * 28)
    m = client(srv)
    m.act(request(640, 360))  # 299 tokens: under the server's cap, nothing changes
    with pytest.raises(ResampledInputError) as info:
        m.act(request(1280, 720))  # 1196 tokens planned
    err = info.value
    assert isinstance(err, ModelError) and error_code(err) == "resampled_input"
    assert (err.expected, err.reported, err.server_size) == (1196, 510, (840, 476))
    msg = str(err)
    for fix in ("--trust-request-mm-kwargs", "max_pixels", "--max-image-tokens 510"):
        assert fix in msg
    # the fix it names: our Frame resamples to the server's cap, and says so
    m2 = client(srv, max_image_tokens=510)
    req = request(1280, 720, max_tokens=510)
    assert req.frame.resampled and req.frame.reason and req.frame.tokens <= 510
    m2.act(req)


def test_vllm_tokenize_answers_the_probes(qwen_server: Any) -> None:
    srv = qwen_server(max_pixels=512 * 28 * 28, tokenize=True)
    with pytest.raises(ResampledInputError) as info:
        client(srv).act(request(1280, 720))
    assert info.value.reported == 510
    assert srv.paths == [CHAT, "/tokenize", "/tokenize"]  # no generation for the probes


def test_a_trusted_server_keeps_what_the_request_asks(qwen_server: Any) -> None:
    srv = qwen_server(max_pixels=512 * 28 * 28, trusted=True)
    client(srv).act(request(1280, 720))  # our max_pixels wins: no error


def test_the_grid_of_the_frame_is_used(qwen_server: Any) -> None:
    """A 32-px grid (Qwen3-VL) with screenshot-pixel points: 1280x736 is 40x23 cells."""
    srv = qwen_server(factor=32)
    m = client(srv)
    req = request(1280, 720, convention="screen", factor=32)
    assert (req.frame.input_w, req.frame.input_h, req.frame.tokens) == (1280, 736, 920)
    m.act(req)
    assert image_sizes(srv.chat.requests[-1]["json"]) == [(512, 512)]  # 16x16 cells of 32


# ---- other sources of the count, and what is not checked -------------------------------
def test_image_tokens_in_usage_are_compared_without_probes(qwen_server: Any) -> None:
    ok = qwen_server(report="image")
    client(ok).act(request(1280, 720))
    capped = qwen_server(max_pixels=512 * 28 * 28, report="image")
    with pytest.raises(ResampledInputError) as info:
        client(capped).act(request(1280, 720))
    assert (info.value.expected, info.value.reported) == (1196, 510)
    assert ok.paths == [CHAT] and capped.paths == [CHAT]


def test_normalised_points_need_no_check(qwen_server: Any) -> None:
    srv = qwen_server(max_pixels=512 * 28 * 28)
    client(srv).act(request(1280, 720, convention="norm1000"))  # the same spot at any size
    assert srv.paths == [CHAT]


def test_no_counts_no_probes(qwen_server: Any) -> None:
    srv = qwen_server(max_pixels=512 * 28 * 28, report="none")
    m = client(srv)
    m.act(request(1280, 720))
    assert srv.paths == [CHAT] and m.describe()["input_check"] == "unverified"


def test_check_resample_off(qwen_server: Any) -> None:
    srv = qwen_server(max_pixels=512 * 28 * 28)
    m = client(srv, check_resample=False)
    m.act(request(1280, 720))
    assert srv.paths == [CHAT] and m.describe()["input_check"] == "off"


def test_a_server_refusing_mm_kwargs_gets_requests_without_them(qwen_server: Any) -> None:
    srv = qwen_server(max_pixels=512 * 28 * 28, refuse_kwargs=True)
    m = client(srv)
    m.act(request(640, 360))  # refused once, then sent without: under its cap, fine
    sent = [r["json"] for r in srv.chat.requests]
    assert "mm_processor_kwargs" in sent[0]
    assert all("mm_processor_kwargs" not in b for b in sent[1:])
    with pytest.raises(ResampledInputError):  # and its own cap is checked
        m.act(request(1280, 720))
    assert sum("mm_processor_kwargs" in r["json"] for r in srv.chat.requests) == 1


# ---- the real ``agent serve``: it reports usage.image_tokens -----------------------------
UITARS15 = "Thought: the button\nAction: click(start_box='(154,98)')"


@pytest.mark.parametrize("server_cap", [None, 64])
def test_agent_serve_with_a_lower_cap_is_caught(
    tiny_qwen: dict[str, Path], server_cap: int | None
) -> None:
    """UI-TARS-1.5 (absolute pixels of its smart-resized input): a 300x200 screenshot is
    308x196 = 77 tokens; a server capped at 64 image tokens feeds the model less."""
    local = load_hf_model(
        str(tiny_qwen["qwen2.5-vl"]), device="cpu", family="ui-tars-1.5",
        force_text=UITARS15, max_image_tokens=server_cap,
    )  # fmt: skip
    srv = BackgroundServer(create_app(local, served_name="tiny")).start()
    try:
        remote = OpenAIModel("tiny", f"{srv.url}/v1", family="ui-tars-1.5", retries=0)
        req = request(300, 200, convention=remote.convention, mode=remote.input_mode)
        assert (req.frame.input_w, req.frame.input_h, req.frame.tokens) == (308, 196, 77)
        if server_cap is None:
            assert remote.act(req).usage["image_tokens"] == 77
        else:
            with pytest.raises(ResampledInputError) as info:
                remote.act(req)
            assert info.value.expected == 77 and info.value.reported <= 64
        assert remote.describe()["input_check"] == "image_tokens"
    finally:
        srv.stop()


# ---- the server's input size from its count --------------------------------------------
@pytest.mark.parametrize("factor", [28, 32])
def test_server_input_size_inverts_smart_resize(factor: int) -> None:
    for w, h in [(1288, 728), (1932, 1092), (728, 1288), (2576, 1456), (644, 364)]:
        for cap_tokens in (64, 300, 512, 1000, 2000):
            rh, rw = smart_resize(h, w, factor, MIN_PIXELS, cap_tokens * factor * factor)
            tokens = image_tokens(rw, rh, factor)
            assert server_input_size(w, h, tokens, factor) == (rw, rh), (w, h, cap_tokens)
    assert server_input_size(1288, 728, 511, 28) is None  # no cap gives 511 tokens


# ---- against the real vLLM (CPU build): the session's qwen2-vl server and a capped one -----
def chat_prompt_tokens(server: Any, w: int, h: int) -> int:
    """vLLM's own prompt-token count for one blank w×h image and a fixed text."""
    body = {
        "model": server.name,
        "max_tokens": 1,
        "messages": [{"role": "user", "content": [probe_image(w, h, 28), TEXT_PART]}],
    }
    resp = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=300)
    assert resp.status_code == 200, resp.text
    return int(resp.json()["usage"]["prompt_tokens"])


TEXT_PART = {"type": "text", "text": "Open the settings"}


@pytest.mark.vllm
@pytest.mark.timeout(900)
def test_real_vllm_with_a_lower_max_pixels_is_caught(capped_servers: tuple[Any, Any]) -> None:
    normal, capped = capped_servers
    # the session's server (--trust-request-mm-kwargs): our max_pixels apply, 1196 tokens
    m = OpenAIModel(normal.name, normal.base_url, family="qwen2-vl", max_new_tokens=1, retries=0)
    m.act(request(1280, 720))
    assert m.describe()["input_check"] == "probe" and m.resample.tokenize
    assert m.resample.measure(m.payload(m.messages(request(1280, 720))), 1288, 728, 28) == 1196

    # max_pixels = 512 tokens, our mm_processor_kwargs refused
    c = OpenAIModel(capped.name, capped.base_url, family="qwen2-vl", max_new_tokens=1, retries=0)
    c.act(request(640, 360))  # 644x364 = 299 tokens: under its cap, no error
    assert not c.send_mm_kwargs  # the refusal was absorbed: requests go without them
    with pytest.raises(ResampledInputError) as info:
        c.act(request(1280, 720))
    err = info.value
    rh, rw = smart_resize(728, 1288, 28, MIN_PIXELS, CAPPED_MAX_PIXELS)  # the server's rule
    assert (rw, rh) == (840, 476)
    assert (err.expected, err.reported, err.server_size) == (1196, 510, (rw, rh))
    # what the model really saw: vLLM counts the 1288x728 image as it counts an 840x476 one
    sent = chat_prompt_tokens(capped, 1288, 728)
    assert sent == chat_prompt_tokens(capped, 840, 476)
    assert sent != chat_prompt_tokens(capped, 840, 448)
    assert sent - chat_prompt_tokens(capped, 448, 448) == 510 - 256  # text cancels out

    # the fix the message names: --max-image-tokens 510 plans a Frame the server keeps
    fixed = OpenAIModel(
        capped.name, capped.base_url, family="qwen2-vl", max_new_tokens=1, retries=0,
        max_image_tokens=510,
    )  # fmt: skip
    req = request(1280, 720, max_tokens=510)
    assert req.frame.resampled and (req.frame.input_w, req.frame.input_h) == (840, 448)
    fixed.act(req)
