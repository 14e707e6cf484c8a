"""The transformers backend on tiny random Qwen2-VL / Qwen2.5-VL checkpoints (CPU, real
from_pretrained, real generate; forced output where a fixed text is needed)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from agent.core.actions import Click, Finish, Type
from agent.core.errors import ConfigError, ModelError
from agent.core.model import HistoryItem, ModelRequest
from agent.core.observation import Observation
from model.backends.hf import TransformersModel, load_hf_model
from model.backends.stopping import action_complete
from model.config import backend_settings, model_spec, resolve_settings
from model.parsers import parse
from model.parsers.complete import balanced_end
from model.registry import load_model
from model.vision import to_model_image


def screenshot(w: int = 300, h: int = 200, seed: int = 0) -> Observation:
    """A generated screenshot of odd size (PNG bytes, as a browser env captures)."""
    rng = np.random.default_rng(seed)
    arr = np.full((h, w, 3), 235, np.uint8)
    arr[20:60, 30:150] = (40, 90, 200)  # a "button"
    arr[h // 2 :, w // 4 :] = rng.integers(0, 255, (h - h // 2, w - w // 4, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return Observation(png=buf.getvalue())


def request_for(model: TransformersModel, obs: Observation, **kw: object) -> ModelRequest:
    frame = obs.frame(mode=model.input_mode, convention=model.convention)
    return ModelRequest("Click the blue button", obs, frame, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def loaded(tiny_qwen: dict[str, Path]) -> dict[str, TransformersModel]:
    """One load per architecture through the registry (the real from_pretrained path)."""
    return {fam: load_model(str(path), device="cpu") for fam, path in tiny_qwen.items()}  # type: ignore[misc]


def as_family(base: TransformersModel, family: str, force: str | None) -> TransformersModel:
    return TransformersModel(
        base.model, base.processor, name=base.name, family=family, force_text=force
    )


def test_load_both_architectures(loaded: dict[str, TransformersModel]) -> None:
    q2, q25 = loaded["qwen2-vl"], loaded["qwen2.5-vl"]
    assert type(q2.model).__name__ == "Qwen2VLForConditionalGeneration"
    assert type(q25.model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert (q2.family.name, q2.format, q2.input_mode) == ("qwen2-vl", "qwen2-vl", "pad")
    assert (q25.family.name, q25.format) == ("qwen2.5-vl", "qwen2.5-vl")
    for m in (q2, q25):
        assert m.device.type == "cpu"
        assert next(m.model.parameters()).dtype == torch.float32
        assert m.describe()["backend"] == "transformers"
        assert m.max_tokens == 16384  # the checkpoint's max_pixels / 28²


def test_family_from_config_and_name(tiny_qwen: dict[str, Path], tmp_path: Path) -> None:
    """A neutral directory name: the architecture decides; an unversioned UI-TARS name: the
    architecture picks v1 (Qwen2-VL) or 1.5 (Qwen2.5-VL); an explicit family wins."""
    (tmp_path / "ckpt").symlink_to(tiny_qwen["qwen2.5-vl"], target_is_directory=True)
    (tmp_path / "UI-TARS-local").symlink_to(tiny_qwen["qwen2.5-vl"], target_is_directory=True)
    m = load_hf_model(str(tmp_path / "ckpt"), device="cpu")
    assert (m.family.name, m.format, m.input_mode, m.convention) == (
        "qwen2.5-vl",
        "qwen2.5-vl",
        "pad",
        "abs",
    )
    m = load_hf_model(str(tmp_path / "UI-TARS-local"), device="cpu")
    assert (m.family.name, m.format, m.input_mode, m.convention) == (
        "ui-tars-1.5",
        "ui-tars-1.5",
        "resize",
        "abs",
    )
    m = load_hf_model(str(tmp_path / "ckpt"), device="cpu", family="json", format="qwen2.5-vl")
    assert (m.family.name, m.format) == ("json", "qwen2.5-vl")


CASES = [
    # (architecture, family, forced text, expected action)
    (
        "qwen2-vl",
        "qwen2-vl",
        "click <|object_ref_start|>the blue button<|object_ref_end|>"
        "<|box_start|>(100,100),(200,200)<|box_end|>",
        Click(point=(46.2, 33.6), box=(30.8, 22.4, 61.6, 44.8), target="the blue button"),
    ),
    (
        "qwen2-vl",
        "ui-tars",
        "Thought: The blue button is at the top.\n"
        "Action: click(start_box='<|box_start|>(500,500)<|box_end|>')",
        Click(point=(154.0, 112.0)),
    ),
    (
        "qwen2.5-vl",
        "qwen2.5-vl",
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": [90, 40]}}\n</tool_call>',
        Click(point=(90.0, 40.0)),
    ),
    (
        "qwen2.5-vl",
        "ui-tars-1.5",  # resize mode: 300x200 → 308x196, absolute px of that input
        "Thought: click it\nAction: click(start_box='(154,98)')",
        Click(point=(150.0, 100.0)),
    ),
    (
        "qwen2-vl",
        "json",
        '{"thought": "type the name", "action": {"type": "type", "text": "Ada", '
        '"point": [90, 40]}}',
        Type(text="Ada", point=(90.0, 40.0)),
    ),
]


@pytest.mark.parametrize(("arch", "family", "force", "expected"), CASES, ids=[c[1] for c in CASES])
def test_agent_step_generate_decode_parse(
    loaded: dict[str, TransformersModel], arch: str, family: str, force: str, expected: object
) -> None:
    model = as_family(loaded[arch], family, force)
    obs = screenshot()
    req = request_for(model, obs)
    reply = model.act(req)
    assert reply.text == force
    parsed = parse(model.format, reply.text, req.frame)
    assert len(parsed.actions) == 1
    got = parsed.actions[0].model_dump()
    want = expected.model_dump()  # type: ignore[attr-defined]
    for key in ("point", "box"):
        if want.get(key) is not None:
            assert got[key] == pytest.approx(want[key], abs=1e-6)
        got.pop(key, None), want.pop(key, None)
    assert got == want
    assert reply.usage["image_tokens"] == req.frame.tokens
    assert reply.usage["completion_tokens"] >= 2
    for key in ("preprocess_s", "prefill_s", "decode_s", "tokens_per_s"):
        assert reply.timings[key] >= 0


def test_pad_frame_reaches_the_model_unresampled(loaded: dict[str, TransformersModel]) -> None:
    model = loaded["qwen2-vl"]
    req = request_for(model, screenshot())
    assert (req.frame.input_w, req.frame.input_h, req.frame.resampled) == (308, 224, False)
    inputs = model.inputs(model.messages(req))
    assert inputs["image_grid_thw"].tolist() == [[1, 16, 22]]
    assert int(inputs["mm_token_type_ids"].sum()) == 88 == req.frame.tokens


@pytest.mark.parametrize("arch", ["qwen2-vl", "qwen2.5-vl"])
def test_inputs_equal_the_checkpoint_processor(
    loaded: dict[str, TransformersModel], arch: str
) -> None:
    """Our ids / mm_token_type_ids / pixel_values / grids equal what the checkpoint's own
    processor makes from the padded images: the processor would not resample them."""
    model = loaded[arch]
    past = screenshot(250, 140, seed=1)
    past_frame = past.frame(mode=model.input_mode, convention=model.convention)
    hist = [HistoryItem(0, "click", observation=past, frame=past_frame)]
    req = request_for(model, screenshot(), history=hist)
    messages = model.messages(req)
    ours = model.inputs(messages)
    text, images = model.render(messages)
    pils = [Image.fromarray(to_model_image(i.observation.array, i.frame)) for i in images]
    theirs = model.processor(text=[text], images=pils, return_tensors="pt")
    assert theirs["image_grid_thw"].tolist() == ours["image_grid_thw"].tolist()
    assert theirs["image_grid_thw"].tolist() == [[1, 10, 18], [1, 16, 22]]
    assert torch.equal(theirs["input_ids"], ours["input_ids"])
    assert torch.equal(theirs["mm_token_type_ids"].int(), ours["mm_token_type_ids"].int())
    torch.testing.assert_close(theirs["pixel_values"], ours["pixel_values"], rtol=0, atol=1e-5)


def test_resize_mode_resamples_like_the_checkpoint_processor(
    loaded: dict[str, TransformersModel],
) -> None:
    """UI-TARS-1.5 reads its smart_resize space: where the Frame must resample, our pixels
    equal what the checkpoint's own processor makes from the raw, odd-sized screenshot."""
    model = as_family(loaded["qwen2.5-vl"], "ui-tars-1.5", "Action: wait()")
    shot = screenshot(333, 217, seed=4)
    req = request_for(model, shot)
    assert req.frame.mode == "resize" and req.frame.resampled
    ours = model.inputs(model.messages(req))
    theirs = model.processor.image_processor(images=[shot.image], return_tensors="pt")
    assert theirs["image_grid_thw"].tolist() == ours["image_grid_thw"].tolist()
    torch.testing.assert_close(theirs["pixel_values"], ours["pixel_values"], rtol=0, atol=1e-5)


def test_history_window_feeds_images_and_counts_tokens(
    loaded: dict[str, TransformersModel],
) -> None:
    model = as_family(loaded["qwen2-vl"], "ui-tars", "Thought: done\nAction: finished()")
    model.history_images, model.history_block = 1, 1  # a sliding window of one
    hist = []
    for i in range(3):
        o = screenshot(seed=i + 2)
        hist.append(
            HistoryItem(
                i, f"Action: click(start_box='({i},{i})')", observation=o, frame=o.frame(mode="pad")
            )
        )
    req = request_for(model, screenshot(), history=hist)
    reply = model.act(req)
    assert reply.usage["image_tokens"] == 2 * 88  # one history image + the current one
    assert parse(model.format, reply.text, req.frame).actions == [Finish(status="success")]


def test_generation_stops_at_the_first_complete_action(
    loaded: dict[str, TransformersModel],
) -> None:
    first = "Thought: two steps\nAction: click(start_box='(100,100)')"
    model = as_family(loaded["qwen2-vl"], "ui-tars", first + "\n\nAction: click(start_box='(9,9)')")
    g = model.generate(model.messages(request_for(model, screenshot())))
    assert g.text == first
    assert g.finish_reason == "stop"


def test_multi_action_setting_keeps_every_action_of_a_turn(tiny_qwen: dict[str, Path]) -> None:
    """NATIVE_AGENT_MULTI_ACTION=true (env → settings → registry) lets one turn hold two
    actions; the default still stops after the first."""
    two = "Thought: two steps\nAction: click(start_box='(100,100)')\n\ntype(content='hi')"
    for env, kinds in (({"NATIVE_AGENT_MULTI_ACTION": "true"}, ["click", "type"]), ({}, ["click"])):
        settings = resolve_settings({"model": str(tiny_qwen["qwen2-vl"])}, env, None)
        model = load_model(
            model_spec(settings), **backend_settings(settings), family="ui-tars",
            force_text=two, device="cpu",
        )  # fmt: skip
        assert isinstance(model, TransformersModel)
        assert model.describe()["multi_action"] is bool(env)
        req = request_for(model, screenshot())
        actions = parse(model.format, model.act(req).text, req.frame).actions
        assert [a.type for a in actions] == kinds


def test_bool_settings_are_checked() -> None:
    assert resolve_settings({}, {"NATIVE_AGENT_MULTI_ACTION": "off"}, None)["multi_action"] is False
    with pytest.raises(ConfigError, match=r"NATIVE_AGENT_MULTI_ACTION.*true or false"):
        resolve_settings({}, {"NATIVE_AGENT_MULTI_ACTION": "maybe"}, None)


def test_unforced_random_weights_run_to_the_token_limit(
    loaded: dict[str, TransformersModel],
) -> None:
    model = as_family(loaded["qwen2.5-vl"], "qwen2.5-vl", None)
    g = model.generate(
        model.messages(request_for(model, screenshot())), max_new_tokens=4, stop_at_action=False
    )
    assert g.usage["completion_tokens"] <= 4
    assert g.finish_reason in ("length", "stop")


def test_missing_checkpoint_is_a_model_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="empty-dir"):
        load_hf_model(str(tmp_path / "empty-dir"), device="cpu")
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(ModelError, match="transformers checkpoint"):
        load_hf_model(str(tmp_path / "empty-dir"), device="cpu")


@pytest.mark.parametrize(
    ("fmt", "text", "done"),
    [
        ("ui-tars", "Thought: x\nAction: click(start_box='(1,2)'", False),
        ("ui-tars", "Thought: (a)\nAction: click(start_box='(1,2)')", True),
        ("ui-tars", "Action: type(content='a) b\\' c')", True),
        ("ui-tars", "Action: type(content='a) b", False),
        ("qwen2.5-vl", '<tool_call>\n{"name": "computer_use"', False),
        ("qwen2.5-vl", '<tool_call>\n{"a": 1}\n</tool_call>', True),
        ("qwen2-vl", "click <|box_start|>(1,2),(3,4)<|box_end|>", True),
        ("qwen2-vl", "drag <|box_start|>(1,2),(3,4)<|box_end|> to", False),
        ("qwen2-vl", "drag <|box_start|>(1,2)<|box_end|> to <|box_start|>(5,6)<|box_end|>", True),
        ("json", 'I click. {"type": "click", "point": [1, 2]', False),
        ("json", 'I click. {"type": "click", "text": "}", "point": [1, 2]}', True),
    ],
)
def test_action_complete(fmt: str, text: str, done: bool) -> None:
    assert action_complete(fmt, text) is done


def test_balanced_end_skips_quoted_brackets() -> None:
    assert balanced_end("f('(', x)", 1, "'\"") == 9
    assert balanced_end("f('(', x", 1, "'\"") is None
