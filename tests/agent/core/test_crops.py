"""Zoom's crop geometry: full-size windows that shift at every edge and corner, at DSF 1 and
2; points mapped back exactly (also through a ×2 upscale and on to CSS px); grid snapping;
the crop's pixels; errors that name the fix."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agent.core.coords import Frame, padded_size, screen_to_input
from agent.core.crops import (
    Crop,
    crop_box_to_screen,
    crop_observation,
    crop_pixels,
    crop_size,
    crop_to_screen,
    crop_window,
    region_crop,
    screen_to_crop,
)
from agent.core.errors import CoordinateError, VisionInputError
from agent.core.observation import Observation

CSS_W, CSS_H = 1280, 800
# CSS px targets at the four edges and the four corners (and the middle, for contrast)
PLACES = {
    "left": (0, 400),
    "right": (CSS_W - 1, 400),
    "top": (640, 0),
    "bottom": (640, CSS_H - 1),
    "top-left": (0, 0),
    "top-right": (CSS_W - 1, 0),
    "bottom-left": (0, CSS_H - 1),
    "bottom-right": (CSS_W - 1, CSS_H - 1),
    "middle": (700, 333),
}


@pytest.mark.parametrize("upscale", [1, 2])
@pytest.mark.parametrize("dsf", [1, 2])
@pytest.mark.parametrize("place", list(PLACES))
def test_a_target_anywhere_is_inside_a_full_size_crop_and_maps_back_exactly(
    place: str, dsf: int, upscale: int
) -> None:
    W, H = CSS_W * dsf, CSS_H * dsf
    css = PLACES[place]
    tx, ty = css[0] * dsf + (dsf - 1) / 2, css[1] * dsf + (dsf - 1) / 2  # the CSS px's centre
    size = crop_size(W, H, fraction=0.25, factor=28)
    crop = crop_window(W, H, (tx, ty), size, upscale=upscale)
    assert (crop.width, crop.height) == size  # shifted, never shrunk
    assert crop.x1 >= 0 and crop.x2 <= W and crop.y1 >= 0 and crop.y2 <= H
    assert crop.contains(tx, ty)
    u, v = screen_to_crop(crop, tx, ty)
    assert 0 <= u <= crop.image_size[0] and 0 <= v <= crop.image_size[1]
    assert crop_to_screen(crop, u, v) == (tx, ty)
    frame = Frame.for_screen(W, H, scale=dsf)
    assert screen_to_input(frame, *crop_to_screen(crop, u, v)) == css
    # the window touches the edge the target is at, and is centred on it elsewhere
    if "left" in place:
        assert crop.x1 == 0
    elif "right" in place:
        assert crop.x2 == W
    else:
        assert abs((crop.x1 + crop.x2) / 2 - tx) <= 0.5
    if "top" in place:
        assert crop.y1 == 0
    elif "bottom" in place:
        assert crop.y2 == H
    else:
        assert abs((crop.y1 + crop.y2) / 2 - ty) <= 0.5


@pytest.mark.parametrize("dsf", [1, 2])
@pytest.mark.parametrize("place", list(PLACES))
def test_the_crops_pixels_hold_the_target_where_the_mapping_says(place: str, dsf: int) -> None:
    W, H = CSS_W * dsf, CSS_H * dsf
    x, y = PLACES[place][0] * dsf, PLACES[place][1] * dsf
    screen = np.zeros((H, W, 3), dtype=np.uint8)
    screen[y, x] = (255, 0, 0)
    crop = crop_window(W, H, (x, y), crop_size(W, H, fraction=0.25))
    part = crop_pixels(screen, crop)
    assert part.shape == (crop.height, crop.width, 3)
    ys, xs = np.nonzero(part[..., 0])
    assert (int(xs[0]), int(ys[0])) == screen_to_crop(crop, x, y)


def test_an_upscaled_crop_doubles_the_image_and_halves_on_the_way_back() -> None:
    screen = np.zeros((400, 600, 3), dtype=np.uint8)
    screen[100:108, 200:208] = 255  # an 8x8 white block
    crop = crop_window(600, 400, (204, 104), (100, 60), upscale=2)
    assert crop.resampling == "bicubic x2"
    big = crop_pixels(screen, crop)
    assert big.shape == (120, 200, 3) and crop.image_size == (200, 120)
    u, v = screen_to_crop(crop, 204, 104)  # the block's centre, in upscaled px
    assert big[int(v), int(u)].min() == 255
    ys, xs = np.nonzero(big[..., 0] > 127)
    cu, cv = (xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2
    assert crop_to_screen(crop, cu, cv) == (204.0, 104.0)
    assert crop_box_to_screen(crop, 2, 4, 0, 0) == (crop.x1, crop.y1, crop.x1 + 1, crop.y1 + 2)


def test_a_crop_read_pixel_for_pixel_records_no_resampling() -> None:
    crop = crop_window(600, 400, (300, 200), (100, 60))
    assert crop.resampling is None and crop.image_size == (100, 60)
    assert crop.box == (250.0, 170.0, 350.0, 230.0)


@pytest.mark.parametrize("factor", [28, 32])
@pytest.mark.parametrize(("w", "h"), [(3840, 2160), (1280, 800), (2560, 1600), (1080, 2400)])
def test_snapped_crops_are_whole_grid_cells_read_without_padding_or_resampling(
    factor: int, w: int, h: int
) -> None:
    cw, ch = crop_size(w, h, fraction=0.25, factor=factor)
    assert cw % factor == 0 and ch % factor == 0
    assert abs(cw - w / 4) <= factor / 2 and abs(ch - h / 4) <= factor / 2
    assert padded_size(cw, ch, factor) == (cw, ch)
    frame = Frame.for_screen(cw, ch, factor=factor)
    assert (frame.input_w, frame.input_h, frame.resampled) == (cw, ch, False)


def test_snapping_keeps_two_cells_and_never_exceeds_the_screen() -> None:
    assert crop_size(1000, 1000, fraction=0.01, factor=28) == (56, 56)
    assert crop_size(100, 100, fraction=1.0, factor=28) == (84, 84)
    assert crop_size(40, 300, fraction=1.0, factor=28) == (40, 280)  # too narrow: whole side


def test_sizes_in_css_px_are_multiplied_by_the_device_scale() -> None:
    assert crop_size(2560, 1600, size=(300, 200), css=True, scale=2) == (600, 400)
    assert crop_size(2560, 1600, size=(300, 200), scale=2) == (300, 200)
    assert crop_size(2880, 1800, size=(100, 100), css=True, scale=1.5) == (150, 150)


def test_a_screen_smaller_than_the_request_is_read_whole() -> None:
    crop = crop_window(300, 200, (290, 10), (640, 400))
    assert (crop.x1, crop.y1, crop.x2, crop.y2) == (0, 0, 300, 200)
    assert crop_size(300, 200, size=(640, 400)) == (300, 200)


def test_a_centre_off_the_screen_still_gets_a_window_on_it() -> None:
    crop = crop_window(1000, 800, (-50, 900), (200, 100))
    assert (crop.x1, crop.y1, crop.x2, crop.y2) == (0, 700, 200, 800)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_non_finite_centre_or_point_is_a_coordinate_error(bad: float) -> None:
    with pytest.raises(CoordinateError, match="not a finite point"):
        crop_window(100, 100, (bad, 5), (10, 10))
    crop = crop_window(100, 100, (5, 5), (10, 10))
    with pytest.raises(CoordinateError, match="not a finite point"):
        crop_to_screen(crop, bad, 1)
    with pytest.raises(CoordinateError, match="not a finite point"):
        screen_to_crop(crop, 1, bad)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"fraction": 0.0}, r"fraction must be in \(0, 1\]"),
        ({"fraction": 1.5}, r"fraction must be in \(0, 1\]"),
        ({}, "exactly one of fraction or size"),
        ({"fraction": 0.5, "size": (10, 10)}, "exactly one of fraction or size"),
        ({"size": (0, 10)}, "crop size must be positive"),
        ({"size": (10, 10), "css": True, "scale": 0}, "device scale must be positive"),
        ({"fraction": 0.5, "factor": 1}, "grid factor must be"),
    ],
)
def test_bad_crop_settings_are_refused_with_the_fix(kw: dict, message: str) -> None:
    with pytest.raises(VisionInputError, match=message):
        crop_size(800, 600, **kw)


def test_bad_upscale_and_mismatched_screenshot_are_refused() -> None:
    with pytest.raises(VisionInputError, match=r"upscale must be one of \(1, 2\)"):
        crop_window(100, 100, (5, 5), (10, 10), upscale=3)
    crop = crop_window(100, 100, (5, 5), (10, 10))
    with pytest.raises(VisionInputError, match="plan it on this screenshot"):
        crop_pixels(np.zeros((50, 100, 3), dtype=np.uint8), crop)
    with pytest.raises(ValueError):
        Crop(x1=-1, y1=0, x2=5, y2=5, screen_w=10, screen_h=10)


def test_a_region_is_widened_to_whole_px_and_clipped() -> None:
    crop = region_crop(200, 100, (10.5, 20.2, 60.1, 140.0))
    assert crop.box == (10.0, 20.0, 61.0, 100.0)
    with pytest.raises(CoordinateError):
        region_crop(200, 100, (300.0, 0.0, 400.0, 50.0))  # off the screen
    with pytest.raises(CoordinateError):
        region_crop(200, 100, (10.0, 10.0, 11.0, 40.0), min_side=2)
    with pytest.raises(CoordinateError):
        region_crop(200, 100, (0.0, math.nan, 5.0, 5.0))


@pytest.mark.parametrize("upscale", [1, 2])
def test_a_cropped_observation_carries_its_pixels_pointer_and_scale(upscale: int) -> None:
    screen = np.arange(100 * 200 * 3, dtype=np.uint8).reshape(100, 200, 3)
    obs = Observation(array=screen, scale=2.0, pointer=(50.0, 30.0))
    crop = crop_window(200, 100, (60.0, 40.0), (40, 20), upscale=upscale)
    view = crop_observation(obs, crop)
    assert view.size == crop.image_size and view.scale == 2.0 * upscale
    if upscale == 1:
        assert np.array_equal(view.array, screen[30:50, 40:80])
    assert view.pointer == screen_to_crop(crop, 50.0, 30.0)  # the pointer moves with the crop
    assert view.privacy is None
    away = crop_observation(obs.copy(pointer=(5.0, 5.0)), crop)
    assert away.pointer is None  # outside the crop: no pointer
