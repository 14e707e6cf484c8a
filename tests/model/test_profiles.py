"""The model-profile registry: detection, overrides, and that every profile's data agrees
with the formats and prompt styles it names."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoProcessor

from agent.core.errors import ConfigError
from model.parsers import FORMATS
from model.profiles import PROFILES, detect_profile, get_profile, resolve_profile
from model.prompts.messages import PROMPTS
from model.registry import load_model
from model.vision import vision_settings


@pytest.mark.parametrize(
    ("name", "model_type", "profile"),
    [
        ("Qwen/Qwen3-VL-8B-Instruct", None, "qwen3-vl"),
        ("Qwen/Qwen3-VL-30B-A3B-Thinking", None, "qwen3-vl"),
        ("Qwen/Qwen3-VL-235B-A22B-Instruct-FP8", None, "qwen3-vl"),
        ("qwen3vl-235a22-instruct", None, "qwen3-vl"),  # a served name
        ("/ckpt/a", "qwen3_vl_moe", "qwen3-vl"),
        ("Qwen/Qwen3.5-27B", None, "qwen3.5"),
        ("/ckpt/b", "qwen3_5_moe", "qwen3.5"),
        ("ByteDance-Seed/UI-TARS-1.5-7B", None, "ui-tars-1.5"),
        ("bytedance-research/UI-TARS-72B-DPO", None, "ui-tars"),
        ("/models/ui_tars_local", "qwen2_5_vl", "ui-tars-1.5"),
        ("Qwen/Qwen2.5-VL-72B-Instruct", None, "qwen2.5-vl"),
        ("Qwen/Qwen2-VL-7B-Instruct", "qwen2_vl", "qwen2-vl"),
        ("llava-hf/llava-1.5-7b", None, "json"),
    ],
)
def test_detection(name: str, model_type: str | None, profile: str) -> None:
    assert detect_profile(name, model_type).name == profile


def test_override_wins_and_unknown_names_are_clear_errors() -> None:
    assert resolve_profile("Qwen/Qwen2-VL-7B", family="Qwen3_VL").name == "qwen3-vl"
    with pytest.raises(ConfigError, match=r"unknown model family 'llava'.*qwen3-vl"):
        get_profile("llava")


def test_the_override_reaches_a_loaded_checkpoint(tiny_qwen: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="--model-family"):
        load_model(str(tiny_qwen["qwen3-vl"]), device="cpu", family="qwen-3-vision")
    m = load_model(str(tiny_qwen["qwen2.5-vl"]), device="cpu", family="ui-tars-1.5")
    assert (m.format, m.input_mode, m.min_pixels) == ("ui-tars-1.5", "resize", 100 * 28 * 28)


def test_every_profile_names_known_formats_and_prompts_on_its_grid() -> None:
    for p in PROFILES.values():
        assert p.prompt in PROMPTS, p.name
        for space in ("computer", "mobile"):
            spec = FORMATS[p.format_for(space)]
            assert spec.factor == p.grid, (p.name, spec.name)
    assert {p.grid for p in PROFILES.values()} == {28, 32}
    assert FORMATS[get_profile("qwen3-vl").format_for("mobile")].convention == "norm999"


def test_vision_settings_come_from_the_checkpoint_processor(tiny_qwen: dict[str, Path]) -> None:
    ip = AutoProcessor.from_pretrained(tiny_qwen["qwen3-vl"]).image_processor
    vs = vision_settings(get_profile("qwen3-vl"), ip)
    assert (vs["patch_size"], vs["merge_size"], vs["mean"], vs["std"]) == (
        16, 2, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5),
    )  # fmt: skip
    assert (vs["min_pixels"], vs["max_pixels"]) == (65536, 16777216)
    defaults = vision_settings(get_profile("qwen2-vl"), None)  # no processor: the profile's
    assert (defaults["patch_size"], defaults["mean"][0]) == (14, 0.48145466)
