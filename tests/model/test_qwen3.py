"""Qwen3-VL end to end: inputs equal its transformers processor (32-px grid), positions equal
its rope index, a tiny checkpoint generates through ``from_pretrained`` and the loop parses
the forced output into an action."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from qwen_vl_utils import smart_resize as qwen_smart_resize
from transformers import AutoProcessor

from agent.core.coords import Frame, smart_resize
from agent.episode.runner import run
from model.backends.hf import TransformersModel
from model.mrope import mrope_position_ids
from model.profiles import get_profile
from model.registry import load_model
from model.vision import qwen2vl_inputs, vision_settings

Q3_MIN, Q3_MAX = 65536, 16777216  # Qwen3-VL preprocessor_config.json size bounds


@pytest.fixture(scope="module")
def processor(tiny_qwen: dict[str, Path]):
    return AutoProcessor.from_pretrained(tiny_qwen["qwen3-vl"])


@pytest.fixture(scope="module")
def model(tiny_qwen: dict[str, Path]) -> TransformersModel:
    m = load_model(str(tiny_qwen["qwen3-vl"]), device="cpu")
    assert isinstance(m, TransformersModel)
    return m


def image(w: int, h: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def ours(img: np.ndarray, frame: Frame, ip) -> tuple[torch.Tensor, torch.Tensor]:
    vs = vision_settings(get_profile("qwen3-vl"), ip)
    kw = {k: vs[k] for k in ("patch_size", "merge_size", "temporal_patch_size", "mean", "std")}
    vi = qwen2vl_inputs(img, frame, resampler="torchvision", **kw)
    return vi.pixel_values, vi.image_grid_thw


def theirs(img: np.ndarray, ip) -> tuple[torch.Tensor, torch.Tensor]:
    out = ip(images=[img], return_tensors="pt")
    return out["pixel_values"], out["image_grid_thw"]


def test_1920x1080_pads_to_1920x1088() -> None:
    f = Frame.for_screen(1920, 1080, factor=32, convention="norm1000")
    assert (f.input_w, f.input_h, f.mode, f.resampled) == (1920, 1088, "pad", False)
    assert f.tokens == 60 * 34


@settings(max_examples=12, deadline=None, database=None)
@given(gw=st.integers(8, 40), gh=st.integers(8, 40), seed=st.integers(0, 2**16))
def test_inputs_equal_the_processor_on_multiples_of_32(gw: int, gh: int, seed: int, processor):
    """No resampling happens on a side that is a multiple of 32 within the pixel bounds:
    pixel_values and image_grid_thw are bit-equal to Qwen3VLProcessor's image processor."""
    w, h = 32 * gw, 32 * gh
    img = image(w, h, seed)
    frame = Frame.for_screen(w, h, factor=32)
    assert (frame.input_w, frame.input_h) == (w, h) and w * h >= Q3_MIN
    pv, grid = ours(img, frame, processor.image_processor)
    hpv, hgrid = theirs(img, processor.image_processor)
    assert torch.equal(grid, hgrid) and grid.tolist() == [[1, h // 16, w // 16]]
    assert torch.equal(pv, hpv)


@pytest.mark.parametrize("size", [(1366, 768), (333, 517), (1920, 1080), (3840, 2160)])
def test_resize_mode_equals_the_processor_on_any_size(size, processor):
    w, h = size
    img = image(w, h, 3)
    frame = Frame.for_screen(w, h, mode="resize", factor=32, min_pixels=Q3_MIN, max_tokens=16384)
    assert (frame.input_h, frame.input_w) == qwen_smart_resize(h, w, 32, Q3_MIN, Q3_MAX)
    pv, grid = ours(img, frame, processor.image_processor)
    hpv, hgrid = theirs(img, processor.image_processor)
    assert torch.equal(grid, hgrid)
    assert torch.equal(pv, hpv)


@settings(max_examples=300, deadline=None, database=None)
@given(w=st.integers(40, 5000), h=st.integers(40, 5000), tokens=st.sampled_from([1280, 16384]))
def test_smart_resize_equals_qwen_vl_utils_at_factor_32(w: int, h: int, tokens: int) -> None:
    if max(w, h) / min(w, h) > 200:
        return
    lo, hi = 4 * 32 * 32, tokens * 32 * 32
    assert smart_resize(h, w, 32, lo, hi) == qwen_smart_resize(h, w, 32, lo, hi)


def test_rope_index_equals_qwen3_on_text_and_images(model: TransformersModel) -> None:
    tok = model.tokenizer
    start, pad = tok.convert_tokens_to_ids("<|vision_start|>"), model.image_token_id
    end = tok.convert_tokens_to_ids("<|vision_end|>")
    grids = [(1, 6, 10), (1, 4, 4)]
    ids = list(range(5, 12))
    for _t, gh, gw in grids:
        ids += [start] + [pad] * (gh * gw // 4) + [end] + list(range(20, 29))
    x = torch.tensor([ids])
    pos, delta = model.model.model.get_rope_index(
        x,
        mm_token_type_ids=(x == pad).int(),
        image_grid_thw=torch.tensor(grids),
        attention_mask=torch.ones_like(x),
    )
    mine, my_delta = mrope_position_ids(ids, grids, image_token_id=pad, vision_start_token_id=start)
    assert np.array_equal(pos[:, 0].numpy(), mine) and int(delta.item()) == my_delta


def test_tiny_qwen3_loads_as_its_profile(model: TransformersModel) -> None:
    assert type(model.model).__name__ == "Qwen3VLForConditionalGeneration"
    assert (model.family.name, model.format, model.convention, model.grid) == (
        "qwen3-vl", "qwen3-vl", "norm1000", 32,
    )  # fmt: skip
    assert model.max_tokens == 16384  # longest_edge 16777216 / 32²
    assert model.model.config.text_config.head_dim >= 32


CALL = (
    "<tool_call>\n"
    '{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}'
    "\n</tool_call>"
)


@pytest.mark.parametrize(
    ("family", "cls"),
    [
        ("qwen3-vl", "Qwen3VLForConditionalGeneration"),
        ("qwen3.5", "Qwen3_5ForConditionalGeneration"),
    ],
)
def test_the_loop_parses_a_forced_qwen3_call_into_an_action(
    family: str, cls: str, tiny_qwen: dict[str, Path], tmp_path: Path
) -> None:
    """A neutral directory name: the config's model_type picks the profile."""
    from board_env import BoardEnv

    (tmp_path / "ckpt").symlink_to(tiny_qwen[family], target_is_directory=True)
    m = load_model(str(tmp_path / "ckpt"), device="cpu", force_text=CALL)
    assert isinstance(m, TransformersModel) and type(m.model).__name__ == cls
    assert (m.family.name, m.grid) == (family, 32)
    episode = run(
        "click the middle", env=BoardEnv(), model=m, out=tmp_path / "ep", max_steps=1, no_gate=True
    )
    step = episode.steps[0]
    assert step["raw"] == CALL  # generated through the real generate → decode path
    assert (step["frame"]["input_w"], step["frame"]["input_h"], step["frame"]["factor"]) == (
        640, 384, 32,
    )  # fmt: skip
    action = step["actions"][0]["action"]
    # 500/1000 of the 640x384 padded input: (320, 192) screenshot px, no scaling error
    assert action == {"type": "click", "point": [320.0, 192.0]}
