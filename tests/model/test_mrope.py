"""model.mrope against transformers 5.x ``Qwen2VLModel.get_rope_index`` (a tiny random model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import Qwen2VLConfig
from transformers.models.qwen2_vl.modeling_qwen2_vl import Qwen2VLModel

from agent.core.coords import Frame
from agent.core.errors import VisionInputError
from model.mrope import mrope_position_ids

VOCAB = 160
START, IMAGE, END, VIDEO = 150, 151, 153, 152  # stand-ins for <|vision_start|> etc.


@pytest.fixture(scope="module")
def hf_model() -> Qwen2VLModel:
    """The smallest Qwen2VLModel that builds: get_rope_index needs only its config."""
    cfg = Qwen2VLConfig(
        text_config={
            "vocab_size": VOCAB,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "bos_token_id": 1,
            "eos_token_id": 2,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [2, 1, 1],
            },
        },
        vision_config={"depth": 1, "embed_dim": 16, "hidden_size": 16, "num_heads": 2},
        image_token_id=IMAGE,
        video_token_id=VIDEO,
        vision_start_token_id=START,
        vision_end_token_id=END,
    )
    assert cfg.vision_config.spatial_merge_size == 2
    return Qwen2VLModel(cfg).eval()


def build(parts: list[int | tuple[int, int, int]]) -> tuple[list[int], list[tuple[int, int, int]]]:
    """ints = that many text tokens; tuples = an image grid wrapped in start/end markers."""
    ids: list[int] = []
    grids = []
    rng = np.random.default_rng(len(parts))
    for part in parts:
        if isinstance(part, int):
            ids += rng.integers(3, 140, part).tolist()
        else:
            t, h, w = part
            ids += [START] + [IMAGE] * (t * h * w // 4) + [END]
            grids.append(part)
    return ids, grids


def hf_rope(model: Qwen2VLModel, ids: list[int], grids) -> tuple[np.ndarray, int]:
    x = torch.tensor([ids])
    pos, delta = model.get_rope_index(
        x,
        mm_token_type_ids=(x == IMAGE).int(),
        image_grid_thw=torch.tensor(grids, dtype=torch.long),
        attention_mask=torch.ones_like(x),
    )
    assert pos.shape == (3, 1, len(ids))
    return pos[:, 0].numpy(), int(delta.item())


def ours(ids, grids):
    return mrope_position_ids(ids, grids, image_token_id=IMAGE, vision_start_token_id=START)


def test_mixed_sequence_two_image_sizes_equals_hf(hf_model):
    small = Frame.for_screen(224, 224)  # grid (1, 16, 16)
    wide = Frame.for_screen(100, 30)  # pads to 112x56: grid (1, 4, 8), wider than tall
    g1 = (1, small.input_h // 14, small.input_w // 14)
    g2 = (1, wide.input_h // 14, wide.input_w // 14)
    ids, grids = build([7, g1, 5, g2, 9])
    pos, delta = ours(ids, grids)
    ref, ref_delta = hf_rope(hf_model, ids, grids)
    assert pos.dtype == np.int64 and pos.shape == (3, len(ids))
    np.testing.assert_array_equal(pos, ref)
    assert delta == ref_delta
    assert delta < 0  # an image takes fewer positions than tokens


def test_screenshot_sized_image_equals_hf(hf_model):
    frame = Frame.for_screen(1920, 1080)  # pad → (1, 78, 138): 2691 tokens
    ids, grids = build([20, (1, 78, 138), 12])
    pos, delta = ours(ids, grids)
    ref, ref_delta = hf_rope(hf_model, ids, grids)
    assert len(ids) == 20 + frame.tokens + 2 + 12
    np.testing.assert_array_equal(pos, ref)
    assert delta == ref_delta


def test_torch_in_torch_out(hf_model):
    ids, grids = build([3, (1, 4, 6), 2])
    pos, delta = mrope_position_ids(
        torch.tensor(ids),
        torch.tensor(grids),
        image_token_id=IMAGE,
        vision_start_token_id=START,
    )
    ref, ref_delta = hf_rope(hf_model, ids, grids)
    assert isinstance(pos, torch.Tensor) and pos.dtype == torch.int64
    assert torch.equal(pos, torch.from_numpy(ref)) and delta == ref_delta


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.integers(1, 6),
            st.tuples(st.just(1), st.sampled_from([2, 4, 6, 10]), st.sampled_from([2, 4, 8, 12])),
        ),
        min_size=1,
        max_size=6,
    ).filter(lambda parts: any(isinstance(p, tuple) for p in parts))
)
def test_random_layouts_equal_hf(hf_model, parts):
    ids, grids = build(parts)
    pos, delta = ours(ids, grids)
    ref, ref_delta = hf_rope(hf_model, ids, grids)
    np.testing.assert_array_equal(pos, ref)
    assert delta == ref_delta


def test_text_only_is_plain_positions():
    pos, delta = mrope_position_ids(
        [5, 6, 7, 8], [], image_token_id=IMAGE, vision_start_token_id=START
    )
    np.testing.assert_array_equal(pos, np.tile(np.arange(4), (3, 1)))
    assert delta == 0


@pytest.mark.parametrize(
    ("ids", "grids", "match"),
    [
        ([1, START, *[IMAGE] * 3, END], [(1, 4, 4)], "needs 4 image tokens"),
        ([1, START, *[IMAGE] * 4, END, START, IMAGE, END], [(1, 4, 4)], "after the last"),
        ([1, 2, 3], [(1, 2, 2)], "only 0"),
        ([1, *[IMAGE] * 4, END], [(1, 4, 4)], "vision start"),
        ([1, START, IMAGE, END], [(1, 3, 2)], "multiples"),
        ([], [], "empty"),
        ([[1, 2], [3, 4]], [], "one sequence"),
    ],
)
def test_mismatches_raise(ids, grids, match):
    with pytest.raises(VisionInputError, match=match):
        mrope_position_ids(ids, grids, image_token_id=IMAGE, vision_start_token_id=START)


def test_start_check_can_be_disabled():
    ids = [1, *[IMAGE] * 4, 2]
    pos, _ = mrope_position_ids(ids, [(1, 4, 4)], image_token_id=IMAGE, vision_start_token_id=None)
    np.testing.assert_array_equal(pos[:, 1:5], [[1, 1, 1, 1], [1, 1, 2, 2], [1, 2, 1, 2]])
    np.testing.assert_array_equal(pos[:, 5], [3, 3, 3])
