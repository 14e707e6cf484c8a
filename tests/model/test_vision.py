"""model.vision against transformers' Qwen2-VL image processors (both backends), for real."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from transformers import Qwen2VLImageProcessor, Qwen2VLImageProcessorPil

from agent.core.coords import Frame
from agent.core.errors import VisionInputError
from model.vision import (
    IMAGE_PAD,
    OPENAI_CLIP_MEAN,
    OPENAI_CLIP_STD,
    VISION_END,
    VISION_START,
    as_rgb_array,
    image_placeholder,
    qwen2vl_inputs,
    to_model_image,
)

# Bounds wide enough that the processors never resample a multiple-of-28 image, capped as ours.
HF_SIZE = {"shortest_edge": 56 * 56, "longest_edge": 16384 * 28 * 28}
ATOL = 1e-5


@pytest.fixture(scope="module")
def hf_tv() -> Qwen2VLImageProcessor:
    return Qwen2VLImageProcessor(size=HF_SIZE)


@pytest.fixture(scope="module")
def hf_pil() -> Qwen2VLImageProcessorPil:
    return Qwen2VLImageProcessorPil(size=HF_SIZE)


def screenshot(w: int, h: int, seed: int = 0) -> np.ndarray:
    """A UI-like RGB screenshot: flat panels, hard edges, text-like noise."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), 240, np.uint8)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(1, w // 2 + 2)), y0 + int(rng.integers(1, h // 2 + 2))
        img[y0:y1, x0:x1] = rng.integers(0, 256, 3, dtype=np.uint8)
    mask = rng.integers(0, 20, (h, w), dtype=np.uint8) == 0
    img[mask] = rng.integers(0, 256, (int(mask.sum()), 3), dtype=np.uint8)
    return img


def hf(proc, image) -> tuple[torch.Tensor, torch.Tensor]:
    res = proc(images=image, return_tensors="pt")
    return res["pixel_values"], res["image_grid_thw"]


def assert_matches(ours, ref_pv: torch.Tensor, ref_grid: torch.Tensor, exact: bool) -> None:
    assert ours.pixel_values.dtype == torch.float32
    assert ours.pixel_values.shape == ref_pv.shape
    assert ours.image_grid_thw.dtype == torch.int64
    assert torch.equal(ours.image_grid_thw, ref_grid)
    if exact:
        assert torch.equal(ours.pixel_values, ref_pv)
    else:
        torch.testing.assert_close(ours.pixel_values, ref_pv, atol=ATOL, rtol=0)


def denormalise(pv: torch.Tensor, input_w: int, input_h: int) -> np.ndarray:
    """Invert the patch layout and the normalisation → H×W×3 levels (float)."""
    m, p = 2, 14
    x = pv.numpy().reshape(input_h // 28, input_w // 28, m, m, 3, 2, p, p)
    assert np.array_equal(x[:, :, :, :, :, 0], x[:, :, :, :, :, 1])  # temporal duplicate
    chw = x[:, :, :, :, :, 0].transpose(4, 0, 2, 5, 1, 3, 6).reshape(3, input_h, input_w)
    mean = np.array(OPENAI_CLIP_MEAN).reshape(3, 1, 1)
    std = np.array(OPENAI_CLIP_STD).reshape(3, 1, 1)
    return ((chw * std + mean) * 255.0).transpose(1, 2, 0)


# ---- equality where nothing is resampled --------------------------------------------------


@pytest.mark.parametrize("size", [(224, 224), (1932, 1092), (56, 84)])
@pytest.mark.parametrize("as_pil", [False, True])
def test_multiple_of_28_equals_hf(size, as_pil, hf_tv, hf_pil):
    img = screenshot(*size)
    image = Image.fromarray(img) if as_pil else img
    frame = Frame.for_screen(*size)
    assert not frame.resampled and (frame.input_w, frame.input_h) == size
    ours = qwen2vl_inputs(image, frame)
    assert_matches(ours, *hf(hf_tv, image), exact=True)
    assert_matches(ours, *hf(hf_pil, image), exact=False)


def test_pad_mode_equals_hf_on_padded_image(hf_tv, hf_pil):
    img = screenshot(1920, 1080, seed=3)
    frame = Frame.for_screen(1920, 1080)
    padded = to_model_image(img, frame)
    ours = qwen2vl_inputs(img, frame)
    assert_matches(ours, *hf(hf_tv, padded), exact=True)
    assert_matches(ours, *hf(hf_pil, padded), exact=False)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(w=st.integers(1, 150), h=st.integers(1, 150), seed=st.integers(0, 2**16))
def test_pad_mode_any_small_size_equals_hf(w, h, seed, hf_tv):
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    frame = Frame.for_screen(w, h)
    assert frame.mode == "pad"
    assert_matches(qwen2vl_inputs(img, frame), *hf(hf_tv, to_model_image(img, frame)), exact=True)


# ---- resize mode ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080), (333, 517)])
def test_resize_mode_equals_hf(size, hf_tv, hf_pil):
    img = screenshot(*size, seed=1)
    frame = Frame.for_screen(*size, mode="resize")
    assert frame.resampled and frame.reason
    tv = qwen2vl_inputs(img, frame, resampler="torchvision")
    assert_matches(tv, *hf(hf_tv, img), exact=True)
    tv_from_pil = qwen2vl_inputs(Image.fromarray(img), frame, resampler="torchvision")
    assert torch.equal(tv_from_pil.pixel_values, tv.pixel_values)
    pil = qwen2vl_inputs(img, frame, resampler="pil")
    assert_matches(pil, *hf(hf_pil, img), exact=False)
    resized = Image.fromarray(img).resize((frame.input_w, frame.input_h), Image.Resampling.BICUBIC)
    assert np.array_equal(to_model_image(img, frame, resampler="pil"), np.asarray(resized))


def test_token_cap_forces_resample_and_equals_hf(hf_tv):
    img = screenshot(4000, 4000, seed=2)
    frame = Frame.for_screen(4000, 4000, max_tokens=16384)
    assert frame.mode == "resize" and frame.resampled
    assert frame.reason is not None and "16384" in frame.reason
    ours = qwen2vl_inputs(img, frame, resampler="torchvision")
    assert ours.num_image_tokens == frame.tokens <= 16384
    assert_matches(ours, *hf(hf_tv, img), exact=True)


# ---- tokens and the pad layout --------------------------------------------------------------


def test_224_gives_64_tokens_66_with_markers():
    frame = Frame.for_screen(224, 224)
    vi = qwen2vl_inputs(screenshot(224, 224), frame)
    assert vi.grid_thw == (1, 16, 16)
    assert vi.num_image_tokens == 64 == frame.tokens
    text = image_placeholder(vi.num_image_tokens)
    assert text == vi.placeholder
    assert text.startswith(VISION_START) and text.endswith(VISION_END)
    assert text.count(IMAGE_PAD) == 64
    assert text.count("<|") == 66


def test_placeholder_rejects_no_tokens():
    with pytest.raises(VisionInputError):
        image_placeholder(0)


def test_pad_1920x1080_keeps_pixels_and_pads_black():
    img = screenshot(1920, 1080, seed=4)
    frame = Frame.for_screen(1920, 1080)
    vi = qwen2vl_inputs(img, frame)
    assert vi.grid_thw == (1, 78, 138)
    assert (frame.input_w, frame.input_h) == (1932, 1092) and not frame.resampled
    assert vi.pixel_values.shape == (78 * 138, 3 * 2 * 14 * 14)
    levels = denormalise(vi.pixel_values, 1932, 1092)
    np.testing.assert_allclose(levels[:1080, :1920], img, atol=1e-3)
    np.testing.assert_allclose(levels[1080:], 0.0, atol=1e-3)
    np.testing.assert_allclose(levels[:, 1920:], 0.0, atol=1e-3)
    model_img = to_model_image(img, frame)
    assert model_img.shape == (1092, 1932, 3) and model_img.dtype == np.uint8
    assert np.array_equal(model_img[:1080, :1920], img)
    assert not model_img[1080:].any() and not model_img[:, 1920:].any()


def test_numpy_output_and_reused_buffer():
    img = screenshot(300, 200, seed=5)
    frame = Frame.for_screen(300, 200)
    ref = qwen2vl_inputs(img, frame)
    as_np = qwen2vl_inputs(img, frame, return_tensors="np")
    assert isinstance(as_np.pixel_values, np.ndarray) and as_np.pixel_values.dtype == np.float32
    assert as_np.image_grid_thw.dtype == np.int64
    np.testing.assert_array_equal(as_np.pixel_values, ref.pixel_values.numpy())
    buf = torch.full_like(ref.pixel_values, float("nan"))
    again = qwen2vl_inputs(img, frame, out=buf)
    assert again.pixel_values is buf and torch.equal(buf, ref.pixel_values)
    with pytest.raises(VisionInputError, match="out must be"):
        qwen2vl_inputs(img, frame, out=np.empty((3, 3), np.float32))
    with pytest.raises(VisionInputError, match="out must be"):
        qwen2vl_inputs(img, frame, out=torch.empty_like(buf, requires_grad=True))


def test_threads_do_not_change_the_result():
    img = screenshot(1366, 3000, seed=8)  # many blocks, a partial last one
    frame = Frame.for_screen(1366, 3000)
    one = qwen2vl_inputs(img, frame, threads=1).pixel_values
    for threads in (2, 3, 8):
        assert torch.equal(qwen2vl_inputs(img, frame, threads=threads).pixel_values, one)


# ---- image modes ----------------------------------------------------------------------------


def _modes() -> list[Image.Image]:
    rgb = Image.fromarray(screenshot(112, 84, seed=6))
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgb.size))
    return [rgba, rgb.convert("L"), rgb.convert("P"), rgb.convert("LA")]


@pytest.mark.parametrize("image", _modes(), ids=lambda im: im.mode)
def test_other_modes_equal_hf(image, hf_tv, hf_pil):
    frame = Frame.for_screen(*image.size)
    ours = qwen2vl_inputs(image, frame)
    assert_matches(ours, *hf(hf_tv, image), exact=True)
    assert_matches(ours, *hf(hf_pil, image), exact=False)


def test_gray_and_rgba_arrays():
    img = screenshot(56, 56, seed=7)
    gray = img[:, :, 0]
    assert np.array_equal(as_rgb_array(gray), np.repeat(gray[:, :, None], 3, axis=2))
    assert np.array_equal(as_rgb_array(gray[:, :, None]), as_rgb_array(gray))
    rgba = np.dstack([img, np.full((56, 56), 255, np.uint8)])
    assert np.array_equal(as_rgb_array(rgba), img)  # opaque: unchanged
    rgba[..., 3] = 0
    assert (as_rgb_array(rgba) == 255).all()  # transparent: white


# ---- rejects --------------------------------------------------------------------------------


def test_huge_image_fails_before_allocating():
    huge = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (30000, 30000, 3))  # no memory
    frame = Frame.for_screen(30000, 30000)
    tracemalloc.start()
    try:
        with pytest.raises(VisionInputError, match="exceeds the limit"):
            qwen2vl_inputs(huge, frame)
        with pytest.raises(VisionInputError, match="exceeds the limit"):
            to_model_image(huge, frame)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_pixel_limit_is_configurable():
    img = Image.fromarray(screenshot(100, 100))
    with pytest.raises(VisionInputError, match="max_input_pixels"):
        qwen2vl_inputs(img, Frame.for_screen(100, 100), max_input_pixels=5000)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((0, 10, 3), np.uint8),
        np.zeros((10, 0), np.uint8),
        Image.new("RGB", (0, 0)),
        np.zeros((10, 10, 3), np.float32),
        np.zeros((10, 10, 2), np.uint8),
        np.zeros((2, 10, 10, 3), np.uint8),
        "screenshot.png",
    ],
    ids=["no-rows", "no-cols", "empty-pil", "float", "2-channels", "4-d", "str"],
)
def test_rejects_bad_images(bad):
    with pytest.raises(VisionInputError):
        as_rgb_array(bad)


def test_rejects_frame_of_another_screen():
    with pytest.raises(VisionInputError, match="frame is for"):
        qwen2vl_inputs(screenshot(100, 80), Frame.for_screen(80, 100))


def test_rejects_patch_geometry_that_does_not_divide_the_input():
    with pytest.raises(VisionInputError, match="multiple"):
        qwen2vl_inputs(screenshot(56, 56), Frame.for_screen(56, 56), patch_size=16)
