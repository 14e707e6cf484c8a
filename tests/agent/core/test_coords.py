"""The coordinate contract: the worked examples of docs/concepts/coordinates.md and round trips."""

from __future__ import annotations

import math

import pytest

from agent.core.coords import (
    Frame,
    box_center,
    check_on_screen,
    fit_within,
    input_to_screen,
    model_box_to_screen,
    model_to_input,
    model_to_screen,
    padded_size,
    screen_to_input,
    screen_to_model,
    smart_resize,
)
from agent.core.errors import CoordinateError, VisionInputError


def test_224_gives_64_tokens() -> None:
    f = Frame.for_screen(224, 224)
    assert (f.input_w, f.input_h) == (224, 224)
    assert f.tokens == 64
    assert not f.resampled


def test_pad_1080p_qwen2vl_box_maps_exactly() -> None:
    f = Frame.for_screen(1920, 1080)
    assert (f.input_w, f.input_h) == (1932, 1092)
    assert f.mode == "pad" and not f.resampled
    box = model_box_to_screen(f, 100, 100, 200, 200)
    assert box == pytest.approx((193.2, 109.2, 386.4, 218.4))
    cx, cy = box_center(*box)
    assert (cx, cy) == pytest.approx((289.8, 163.8))
    assert screen_to_input(f, cx, cy) == (290, 164)


def test_ui_tars_15_absolute_in_smart_resize_space() -> None:
    f = Frame.for_screen(1920, 1080, mode="resize", convention="abs")
    assert (f.input_w, f.input_h) == (1932, 1092)
    assert f.resampled and f.reason
    sx, sy = model_to_screen(f, 197, 525)
    assert (sx, sy) == pytest.approx((195.78, 519.23), abs=0.01)
    assert screen_to_input(f, sx, sy) == (196, 519)


def test_dsf2_browser() -> None:
    f = Frame.for_screen(2560, 1600, scale=2)
    assert f.input_size_units == (1280, 800)
    assert screen_to_input(f, 500, 300) == (250, 150)
    assert input_to_screen(f, 250, 150) == (500, 300)


def test_smart_resize_matches_reference_values() -> None:
    # values computed with the formula of Qwen2-VL's reference implementation
    assert smart_resize(1080, 1920) == (1092, 1932)
    assert smart_resize(768, 1366) == (756, 1372)
    h, w = smart_resize(4000, 4000, max_pixels=16384 * 784)
    assert h % 28 == 0 and w % 28 == 0 and h * w <= 16384 * 784
    with pytest.raises(VisionInputError):
        smart_resize(10, 5000)


def test_token_cap_forces_resample_and_says_so() -> None:
    f = Frame.for_screen(3840, 2160, max_tokens=4096)
    assert f.mode == "resize" and f.resampled
    assert "exceeds the cap" in (f.reason or "")
    assert f.tokens <= 4096
    g = Frame.for_screen(3840, 2160)  # 138*78*... fits the default cap of 16384
    assert g.mode == "pad" and g.tokens == (3864 // 28) * (2184 // 28)


def test_padded_size_minimum() -> None:
    assert padded_size(10, 10) == (56, 56)
    assert padded_size(57, 29) == (84, 56)


@pytest.mark.parametrize(
    ("w", "h", "scale"),
    [(1366, 768, 1.0), (1080, 2400, 1.0), (3840, 2160, 1.0), (2560, 1600, 2.0), (2732, 1536, 2.0)],
)
@pytest.mark.parametrize("mode", ["pad", "resize"])
@pytest.mark.parametrize("conv", ["norm1000", "norm1", "abs"])
def test_round_trip_every_pixel_class(w: int, h: int, scale: float, mode: str, conv: str) -> None:
    f = Frame.for_screen(w, h, mode=mode, convention=conv, scale=scale)  # type: ignore[arg-type]
    for sx, sy in [(0, 0), (w - 1, h - 1), (w // 3 + 0.25, h // 7 + 0.5), (17, h - 3)]:
        mx, my = screen_to_model(f, sx, sy)
        bx, by = model_to_screen(f, mx, my)
        assert (bx, by) == pytest.approx((sx, sy), abs=1e-6)
        ux, uy = screen_to_input(f, sx, sy)
        assert (ux, uy) == (
            math.floor(sx / scale + 0.5)
            if sx / scale < w / scale - 0.5
            else math.ceil(w / scale) - 1,
            uy,
        )
        back = input_to_screen(f, ux, uy)
        assert abs(back[0] - sx) <= scale / 2 + 1e-9 and abs(back[1] - sy) <= scale / 2 + 1e-9


def test_far_outside_is_error_near_edge_clamps() -> None:
    f = Frame.for_screen(1920, 1080)
    assert screen_to_input(f, 1925.0, 1090.0) == (1919, 1079)  # in the padding: clamp
    assert screen_to_input(f, -3.0, 5.0) == (0, 5)
    with pytest.raises(CoordinateError):
        screen_to_input(f, 2500, 10)
    with pytest.raises(CoordinateError):
        model_to_input(f, 1500, 10)  # 0-1000 convention: far right of the frame
    with pytest.raises(CoordinateError):
        check_on_screen(f, float("nan"), 1)
    with pytest.raises(CoordinateError):
        model_to_screen(f, float("inf"), 1)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_rotation_round_trip(rotation: int) -> None:
    f = Frame.for_screen(1080, 2400, rotation=rotation, convention="screen")  # type: ignore[arg-type]
    uw, uh = f.input_size_units
    assert (uw, uh) == ((1080, 2400) if rotation in (0, 180) else (2400, 1080))
    for p in [(0, 0), (1079, 0), (500, 1200), (1079, 2399)]:
        ux, uy = screen_to_input(f, *p)
        assert 0 <= ux < uw and 0 <= uy < uh
        assert input_to_screen(f, ux, uy) == pytest.approx(p)
    if rotation == 90:
        assert screen_to_input(f, 0, 0) == (2399, 0)


def test_offset_monitor() -> None:
    f = Frame.for_screen(1920, 1080, offset=(1920, 0), scale=1.0)
    assert screen_to_input(f, 10, 20) == (1930, 20)
    assert input_to_screen(f, 1930, 20) == (10, 20)


def test_hidpi_desktop_scale_125() -> None:
    f = Frame.for_screen(2400, 1350, scale=1.25)
    assert f.input_size_units == (1920, 1080)
    assert screen_to_input(f, 2399, 1349) == (1919, 1079)
    assert screen_to_input(f, 1250, 625) == (1000, 500)


def test_qwen3_grid_of_32_and_its_0_1000_and_0_999_spaces() -> None:
    f = Frame.for_screen(1920, 1080, factor=32)
    assert (f.input_w, f.input_h, f.tokens, f.factor) == (1920, 1088, 2040, 32)
    assert model_to_screen(f, 500, 500) == (960, 544)  # 0–1000 of the padded input
    r = Frame.for_screen(1920, 1080, factor=32, mode="resize", convention="norm999")
    assert (r.input_w, r.input_h) == (1920, 1088)
    assert model_to_screen(r, 999, 999) == pytest.approx((1920, 1080))
    assert screen_to_model(r, *model_to_screen(r, 123.4, 567.8)) == pytest.approx((123.4, 567.8))
    with pytest.raises(VisionInputError, match="factor"):
        Frame.for_screen(100, 100, factor=31)


def test_resize_floor_and_pointer_are_part_of_the_frame() -> None:
    small = Frame.for_screen(200, 150, mode="resize", convention="abs", min_pixels=100 * 28 * 28)
    assert (small.input_w, small.input_h) == (336, 252)  # UI-TARS's 78,400 px² floor
    default = Frame.for_screen(200, 150, mode="resize")
    assert (default.input_w, default.input_h) == (196, 140)  # 56² floor: nearest multiples
    f = Frame.for_screen(640, 480, pointer=(10.0, 20.0))
    assert f.pointer == (10.0, 20.0) and Frame(**f.model_dump()).pointer == (10.0, 20.0)


def test_fit_within_keeps_aspect_and_every_limit() -> None:
    # the Anthropic standard tier: long edge ≤ 1568 and ≤ 1.15 MP
    assert fit_within(1920, 1080, long_edge=1568, max_pixels=1_150_000) == (1429, 804)
    assert fit_within(1280, 800, long_edge=1568, max_pixels=1_150_000) == (1280, 800)
    assert fit_within(3840, 2160, long_edge=2048, short_edge=768) == (1365, 768)
    assert fit_within(100, 50, long_edge=10_000) == (100, 50)  # never enlarged
    w, h = fit_within(4000, 3000, max_pixels=1_000_000)
    assert w * h <= 1_000_000 and abs(w / h - 4 / 3) < 0.01
    with pytest.raises(VisionInputError):
        fit_within(0, 10, long_edge=5)


def test_resized_to_maps_the_declared_display_back_to_the_screenshot() -> None:
    base = Frame.for_screen(2560, 1440, scale=2.0)  # a 1280x720 CSS page at DSF 2
    f = base.resized_to(1429, 804, convention="abs", reason="API limit", tolerance=0.5)
    assert (f.mode, f.input_w, f.input_h, f.resampled, f.reason) == (
        "resize",
        1429,
        804,
        True,
        "API limit",
    )
    assert f.scale == 2.0 and f.tolerance == 0.5
    sx, sy = model_to_screen(f, 714.5, 402)
    assert abs(sx - 1280) < 1 and abs(sy - 720) < 1
    assert screen_to_input(f, sx, sy) == (640, 360)  # CSS px
    # the declared display's last pixel is on screen, one past it is not
    check_on_screen(f, *model_to_screen(f, 1428, 803))
    with pytest.raises(CoordinateError):
        check_on_screen(f, *model_to_screen(f, 1429, 400))
    with pytest.raises(CoordinateError):
        check_on_screen(f, *model_to_screen(f, -1, 400))
    same = base.resized_to(2560, 1440, convention="norm1000")
    assert not same.resampled and same.reason is None
    assert model_to_screen(same, 500, 500) == (1280, 720)
    with pytest.raises(VisionInputError):
        base.resized_to(0, 10, convention="abs")
