"""The coordinate contract at its edges: the exact limits (size, aspect, token cap, pixel floor,
tolerance), the screen convention under resampling, the y offset, scales other than 1 and 2,
and errors that say which point and which limit."""

from __future__ import annotations

import pytest
from qwen_vl_utils.vision_process import smart_resize as official_smart_resize

from agent.core.coords import (
    Frame,
    check_on_screen,
    image_tokens,
    input_to_screen,
    model_to_screen,
    padded_size,
    screen_to_input,
    screen_to_model,
    smart_resize,
)
from agent.core.errors import CoordinateError, VisionInputError


@pytest.mark.parametrize(("h", "w"), [(0, 100), (100, 0), (-5, 100), (100, -5)])
def test_a_side_of_zero_or_less_is_refused_with_the_size(h: int, w: int) -> None:
    with pytest.raises(VisionInputError, match=f"must be positive, got {w}x{h}"):
        smart_resize(h, w)
    with pytest.raises(VisionInputError, match=f"must be positive, got {w}x{h}"):
        padded_size(w, h)


def test_one_pixel_sides_are_sizes_not_errors() -> None:
    assert smart_resize(1, 100) == (28, 112)  # the floor of 56² px lifts both sides
    assert smart_resize(100, 1) == (112, 28)
    assert padded_size(1, 1) == (56, 56)
    assert padded_size(1, 100) == (56, 112)
    assert padded_size(100, 1) == (112, 56)


def test_the_aspect_limit_is_inclusive_and_its_error_names_the_fix() -> None:
    assert smart_resize(10, 2000)[1] % 28 == 0  # exactly 200:1 is allowed
    with pytest.raises(VisionInputError, match=r"2001x10 exceeds 200: crop the screenshot"):
        smart_resize(10, 2001)


@pytest.mark.parametrize(
    ("h", "w", "min_pixels", "max_pixels"),
    [
        (4000, 4000, 3136, 16384 * 784),  # over the cap: scaled down
        (2160, 3840, 3136, 1280 * 784),
        (1080, 1920, 3136, 1000 * 784),
        (70, 40, 784, 1568),  # lands exactly on the cap: kept
        (20, 20, 3136, 16384 * 784),  # under the floor: scaled up
        (56, 56, 3136, 16384 * 784),  # exactly on the floor: kept
        (150, 200, 100 * 784, 16384 * 784),
        (333, 777, 3136, 16384 * 784),
    ],
)
def test_smart_resize_equals_the_official_one_at_cap_and_floor(
    h: int, w: int, min_pixels: int, max_pixels: int
) -> None:
    ours = smart_resize(h, w, 28, min_pixels=min_pixels, max_pixels=max_pixels)
    assert ours == official_smart_resize(h, w, 28, min_pixels=min_pixels, max_pixels=max_pixels)
    assert min_pixels <= ours[0] * ours[1] <= max_pixels


def test_image_tokens_count_whole_grid_cells() -> None:
    assert image_tokens(57, 85) == 2 * 3
    assert isinstance(image_tokens(57, 85), int)
    assert image_tokens(64, 96, factor=32) == 2 * 3


def test_token_cap_and_grid_limits_are_exact() -> None:
    assert Frame.for_screen(224, 224, max_tokens=4).input_w > 0  # 4 tokens is the least
    with pytest.raises(VisionInputError, match="max_tokens must be ≥ 4, got 3"):
        Frame.for_screen(224, 224, max_tokens=3)
    assert Frame.for_screen(100, 100, factor=2).input_w == 100  # the smallest even grid
    for bad in (1, 3, 0):
        with pytest.raises(VisionInputError, match=f"even patch × merge, got {bad}"):
            Frame.for_screen(100, 100, factor=bad)


def test_a_pad_exactly_at_the_cap_is_kept_and_one_over_is_resampled_with_its_count() -> None:
    # padded to 1920x1088 on the grid of 32: 60 x 34 = 2040 tokens (2584 on a grid of 28)
    at_cap = Frame.for_screen(1920, 1080, factor=32, max_tokens=2040)
    assert (at_cap.mode, at_cap.input_w, at_cap.input_h, at_cap.reason) == ("pad", 1920, 1088, None)
    over = Frame.for_screen(1920, 1080, factor=32, max_tokens=2039)
    assert over.mode == "resize" and over.resampled
    assert over.reason == "pad to 1920x1088 = 2040 tokens exceeds the cap of 2039; resampled"


def test_resize_mode_reason_and_the_default_floor_of_two_by_two_cells() -> None:
    f = Frame.for_screen(1920, 1080, mode="resize")
    assert f.reason == "resize mode requested"
    tiny = Frame.for_screen(20, 20, mode="resize")
    assert (tiny.input_w, tiny.input_h) == (56, 56)  # 4 cells of 28
    tiny32 = Frame.for_screen(20, 20, mode="resize", factor=32)
    assert (tiny32.input_w, tiny32.input_h) == (64, 64)
    same = Frame.for_screen(56, 56, mode="resize")
    assert same.reason is None and not same.resampled


def test_screen_convention_is_screenshot_pixels_even_when_resampled() -> None:
    f = Frame.for_screen(1000, 700, mode="resize", convention="screen")
    assert (f.input_w, f.input_h) != (1000, 700)
    assert model_to_screen(f, 123.0, 456.0) == (123.0, 456.0)
    assert screen_to_model(f, 123.0, 456.0) == (123.0, 456.0)


def test_the_y_offset_is_added_and_removed() -> None:
    f = Frame.for_screen(800, 600, offset=(0, 50))
    assert (f.offset_x, f.offset_y) == (0.0, 50.0)
    assert screen_to_input(f, 10, 20) == (10, 70)
    assert input_to_screen(f, 10, 70) == (10, 20)


def test_the_tolerance_band_is_inclusive_on_all_four_sides() -> None:
    f = Frame.for_screen(100, 50)  # tolerance 28 px
    for x, y in [(-28, 0), (127, 0), (0, -28), (0, 77), (-28, -28), (127, 77)]:
        check_on_screen(f, x, y)
    for x, y in [(-28.01, 0), (127.01, 0), (128, 0), (0, -28.01), (0, 77.01), (0, 78)]:
        with pytest.raises(CoordinateError, match="outside the 100x50 screenshot by more than 28"):
            check_on_screen(f, x, y)


def test_a_point_in_the_band_clamps_to_the_last_pixel_at_a_fractional_scale() -> None:
    # 0.5 screenshot px per input unit: the last pixel, 99, is input unit 198 (of 0..199)
    f = Frame.for_screen(100, 50, scale=0.5)
    assert f.input_size_units == (200, 100)
    assert screen_to_input(f, 99.9, 49.9) == (198, 98)
    assert screen_to_input(f, 120.0, 70.0) == (198, 98)


def test_input_units_never_pass_the_input_space() -> None:
    f = Frame.for_screen(19, 19, scale=10.0)  # 1.9 units a side: units 0 and 1
    assert f.input_size_units == (2, 2)
    assert screen_to_input(f, 18, 18) == (1, 1)


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda f: model_to_screen(f, float("nan"), 1.0), "model point"),
        (lambda f: screen_to_model(f, 1.0, float("inf")), "screen point"),
        (lambda f: check_on_screen(f, float("-inf"), 1.0), "point"),
        (lambda f: input_to_screen(f, 1.0, float("nan")), "input point"),
    ],
)
def test_a_non_finite_point_is_named_in_its_error(call, what: str) -> None:  # type: ignore[no-untyped-def]
    f = Frame.for_screen(100, 100)
    with pytest.raises(CoordinateError, match=rf"^{what} \(.*\) is not a finite point$"):
        call(f)
