"""Every family that grounds, as a described-target grounder (model/grounders/family.py).

The backend is the scripted fake (model/scripted.py) answering what a perfect model of the
family would write: the dialect's own rendering (model/parsers render) of a known point, in
the Frame the family's authors plan for the image sent. The grounded screen point must come
back within the dialect's quantum, on the full screen and on a crop at an edge; a reply that
does not parse, or points off the image read, is a GroundingFailure. The tiny random
checkpoint runs the real transformers backend end to end.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from agent.core.actions import Click
from agent.core.coords import screen_to_model
from agent.core.errors import ConfigError
from agent.core.observation import Observation
from agent.export.render import render, tolerance
from model.grounders.base import DescriptionGrounder, Grounded, GroundingFailure
from model.grounders.family import FamilyGrounder, load_family_grounder
from model.grounders.registry import load_grounder
from model.parsers.render import DECIMALS
from model.profiles import PROFILES, Profile
from model.scripted import ScriptedModel
from tests.conftest import load_tool
from tests.model.chat_server import ChatServer

GROUNDS = [p for p in PROFILES.values() if "grounding" in p.action_spaces]
NOT_GROUNDING = [p for p in PROFILES.values() if "grounding" not in p.action_spaces]
W, H = 1366, 768  # not a multiple of any grid: padding and resizing both show
TARGET = "the Search button"


def screen(w: int = W, h: int = H) -> Observation:
    rng = np.random.default_rng(7)
    return Observation(array=rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def answer(p: Profile, point: tuple[float, float], size: tuple[int, int]) -> tuple[str, float]:
    """The family's rendering of a click at ``point`` (px of an image of ``size``) and the
    round-trip tolerance, planned independently of the grounder."""
    frame = p.frame(*size, action_space="grounding")
    fmt = p.format_for("grounding")
    return render([Click(point=point)], frame, fmt, action_space="grounding"), tolerance(frame)


def grounder(p: Profile, outputs: list[str]) -> tuple[FamilyGrounder, ScriptedModel]:
    model = ScriptedModel(outputs, p.format_for("grounding"))
    return FamilyGrounder(model, p, name=f"fake {p.name}"), model


def test_the_registry_has_grounding_families() -> None:
    assert len(GROUNDS) >= 10 and NOT_GROUNDING


@pytest.mark.parametrize("p", GROUNDS, ids=lambda p: p.name)
def test_full_screen_point_comes_back(p: Profile) -> None:
    known = (917.0, 233.0)
    text, tol = answer(p, known, (W, H))
    g, model = grounder(p, [text])
    assert isinstance(g, DescriptionGrounder)
    got = g.ground(screen(), TARGET)
    assert isinstance(got, Grounded), got
    assert abs(got.point[0] - known[0]) <= tol and abs(got.point[1] - known[1]) <= tol
    assert got.crop is None and got.raw == text and got.description == TARGET
    assert got.prompt is not None and TARGET in got.prompt and got.model_point is not None
    sent = model.seen[0]
    assert sent.observation.size == (W, H) and sent.task == TARGET and not sent.history
    frame = p.frame(W, H, action_space="grounding")
    assert sent.frame == frame
    unit = 10.0 ** -DECIMALS.get(frame.convention, 0)  # one step of the numbers it writes
    want = screen_to_model(frame, *known)
    assert all(abs(m - w) <= 1.01 * unit for m, w in zip(got.model_point, want, strict=True))


def test_the_backends_image_budget_plans_the_frame() -> None:
    p = next(p for p in GROUNDS if p.frame(W, H, action_space="grounding").mode == "pad")
    g, model = grounder(p, [])
    model.max_tokens = 64  # a checkpoint whose processor caps the image far below the screen
    frame = p.frame(W, H, action_space="grounding", max_tokens=64)
    assert frame.resampled and frame.tokens <= 64
    fmt = p.format_for("grounding")
    model.outputs = [render([Click(point=(917.0, 233.0))], frame, fmt, action_space="grounding")]
    got = g.ground(screen(), TARGET)
    assert model.seen[0].frame == frame and isinstance(got, Grounded)
    assert abs(got.point[0] - 917.0) <= tolerance(frame) and abs(got.point[1] - 233.0) <= tolerance(
        frame
    )


@pytest.mark.parametrize("p", GROUNDS, ids=lambda p: p.name)
def test_crop_at_the_corner_is_sent_natively_and_shifted_back(p: Profile) -> None:
    obs = screen()
    region = (W - 300.0, H - 200.0, float(W), float(H))  # the bottom-right corner
    known = (W - 6.0, H - 4.0)
    text, tol = answer(p, (known[0] - region[0], known[1] - region[1]), (300, 200))
    g, model = grounder(p, [text])
    got = g.ground(obs, TARGET, region=region)
    assert isinstance(got, Grounded), got
    assert abs(got.point[0] - known[0]) <= tol and abs(got.point[1] - known[1]) <= tol
    assert got.crop == region
    sent = model.seen[0].observation
    assert sent.size == (300, 200)  # native px: the crop itself, not resized by us
    assert np.array_equal(sent.array, obs.array[H - 200 :, W - 300 :])


@pytest.mark.parametrize("p", GROUNDS, ids=lambda p: p.name)
def test_a_reply_that_does_not_parse_is_a_failure(p: Profile) -> None:
    g, _ = grounder(p, ["I am not sure where that is."])
    got = g.ground(screen(), TARGET)
    assert isinstance(got, GroundingFailure) and not hasattr(got, "point")
    assert got.raw == "I am not sure where that is." and got.prompt and got.reason


@pytest.mark.parametrize("p", GROUNDS, ids=lambda p: p.name)
def test_an_answer_off_the_image_read_is_a_failure(p: Profile) -> None:
    region = (0.0, 0.0, 300.0, 200.0)  # on the screen, but 12 px right of the crop
    far, _ = answer(p, (1.6 * W, H / 2), (W, H))
    near, _ = answer(p, (312.0, 100.0), (300, 200))
    g, _ = grounder(p, [far, near])
    assert isinstance(g.ground(screen(), TARGET), GroundingFailure)
    got = g.ground(screen(), TARGET, region=region)
    assert isinstance(got, GroundingFailure), got


def test_an_empty_region_is_a_failure() -> None:
    g, model = grounder(GROUNDS[0], [])
    got = g.ground(screen(), TARGET, region=(W + 10.0, 0.0, W + 50.0, 40.0))
    assert isinstance(got, GroundingFailure) and not model.seen


@pytest.mark.parametrize("p", NOT_GROUNDING, ids=lambda p: p.name)
def test_a_family_without_grounding_is_refused(p: Profile) -> None:
    with pytest.raises(ConfigError, match="grounding"):
        FamilyGrounder(ScriptedModel([], p.format), p)


def test_a_model_speaking_another_dialect_is_refused() -> None:
    p = GROUNDS[0]
    with pytest.raises(ConfigError, match="dialect"):
        FamilyGrounder(ScriptedModel([], "json"), p)


@pytest.mark.parametrize(
    "spec", ["anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-computer-use", "scripted:x.json"]
)
def test_backends_without_a_family_prompt_are_refused(spec: str) -> None:
    with pytest.raises(ConfigError, match="no family grounding prompt"):
        load_family_grounder(spec)


def test_a_served_family_without_grounding_is_refused() -> None:
    with pytest.raises(ConfigError, match="no grounding prompt"):
        load_grounder("openai:Qwen3.5-27B@http://127.0.0.1:9/v1")


def test_action_space_other_than_grounding_is_refused() -> None:
    with pytest.raises(ConfigError, match="action_space"):
        load_family_grounder("Qwen/Qwen2-VL-2B-Instruct", action_space="computer")


# ---- the real transformers backend on a tiny random checkpoint --------------------------


@pytest.fixture(scope="module")
def tiny_qwen2vl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    builder = load_tool("make_tiny_qwen")
    path: Path = builder.build_tiny(tmp_path_factory.mktemp("tiny") / "qwen2-vl", "qwen2-vl")
    return path


def test_tiny_checkpoint_grounds_end_to_end(tiny_qwen2vl: Path) -> None:
    g = load_grounder(str(tiny_qwen2vl), device="cpu", max_new_tokens=12)
    assert isinstance(g, FamilyGrounder) and g.profile.name == "qwen2-vl"
    obs = screen(320, 240)
    for region in (None, (100.0, 80.0, 320.0, 240.0)):
        got = g.ground(obs, TARGET, region=region)
        assert isinstance(got, Grounded | GroundingFailure)
        assert got.prompt is not None and TARGET in got.prompt and "<image" in got.prompt
        assert isinstance(got.raw, str) and got.crop == region and got.usage
        if isinstance(got, Grounded):
            assert 0 <= got.point[0] <= 320 and 0 <= got.point[1] <= 240


def test_tiny_checkpoint_in_a_family_without_grounding_is_refused(tiny_qwen2vl: Path) -> None:
    with pytest.raises(ConfigError, match="grounding"):
        load_family_grounder(str(tiny_qwen2vl), device="cpu", family="qwen3.5")


# ---- an OpenAI-compatible server (a local stand-in on 127.0.0.1) ------------------------


def test_the_crop_sent_over_http_is_the_native_pixels() -> None:
    p = PROFILES["os-atlas"]  # pads (no resampling): the sent image holds the crop's bytes
    obs = screen()
    region = (0.0, H - 150.0, 260.0, float(H))  # the bottom-left corner
    known = (7.0, H - 5.0)
    text, tol = answer(p, (known[0] - region[0], known[1] - region[1]), (260, 150))
    usage = {"prompt_tokens": 90, "completion_tokens": 9, "total_tokens": 99}
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
    srv = ChatServer(lambda _: (200, {**body, "usage": usage}, {}))
    try:
        g = load_grounder(f"openai:OS-Atlas-Base-7B@{srv.url}", check_resample=False)
        got = g.ground(obs, TARGET, region=region)
    finally:
        srv.close()
    assert isinstance(got, Grounded) and got.usage == usage and got.crop == region
    assert abs(got.point[0] - known[0]) <= tol and abs(got.point[1] - known[1]) <= tol
    (request,) = srv.requests
    parts = [c for m in request["json"]["messages"] for c in m["content"] if isinstance(c, dict)]
    assert any(TARGET in c.get("text", "") for c in parts)
    (url,) = [c["image_url"]["url"] for c in parts if c["type"] == "image_url"]
    sent = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.partition(",")[2]))))
    assert sent.shape[:2] == (168, 280)  # padded to the 28-px grid, nothing resampled
    assert np.array_equal(sent[:150, :260, :3], obs.array[H - 150 :, :260])
