"""Screen rotation maps points as a rigid turn (issue 15): on a non-square screen, with
points away from the centre, each of 0/90/180/270 lands where that turn puts it — 180°
flips *both* axes — turns compose (90° twice is 180°, 90° then 270° is none), distances
are kept, and screen → input → screen gives the point back. The model-space path
(model → screen → input) agrees. Android's end-to-end tap under 180° is in
tests/envs/test_android_rotation.py."""

from __future__ import annotations

import itertools
import math

import pytest

from agent.core.coords import Frame, input_to_screen, model_to_input, screen_to_input

W, H = 1080, 2400
POINTS = [(100, 300), (900, 250), (123, 2000), (1079, 0), (0, 2399), (540, 1199)]
EXPECTED = {  # (100, 300) turned clockwise on a 1080x2400 screen (last px index W-1, H-1)
    0: (100, 300),
    90: (H - 1 - 300, 100),
    180: (W - 1 - 100, H - 1 - 300),
    270: (300, W - 1 - 100),
}


def _frame(rotation: int, w: int = W, h: int = H) -> Frame:
    return Frame.for_screen(w, h, rotation=rotation, convention="screen")  # type: ignore[arg-type]


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_each_turn_puts_an_off_centre_point_where_it_belongs(rotation: int) -> None:
    assert screen_to_input(_frame(rotation), 100, 300) == EXPECTED[rotation]


def test_180_flips_both_axes() -> None:
    f = _frame(180)
    assert screen_to_input(f, 0, 0) == (W - 1, H - 1)
    assert screen_to_input(f, W - 1, 0) == (0, H - 1)  # top-right → bottom-left
    assert screen_to_input(f, 0, H - 1) == (W - 1, 0)
    assert input_to_screen(f, 0, 0) == (W - 1, H - 1)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_round_trip_screen_input_screen(rotation: int) -> None:
    f = _frame(rotation)
    uw, uh = f.input_size_units
    for p in POINTS:
        u = screen_to_input(f, *p)
        assert 0 <= u[0] < uw and 0 <= u[1] < uh
        assert input_to_screen(f, *u) == pytest.approx(p)


def test_turns_compose_and_keep_distances() -> None:
    quarter = _frame(90)
    quarter_of_landscape = _frame(90, H, W)  # the turned screen is H wide, W high
    back = _frame(270, H, W)
    for p in POINTS:
        once = screen_to_input(quarter, *p)
        assert screen_to_input(quarter_of_landscape, *once) == screen_to_input(_frame(180), *p)
        assert screen_to_input(back, *once) == p  # 90° then 270°: no turn
    for rotation in (90, 180, 270):
        f = _frame(rotation)
        for p, q in itertools.pairwise(POINTS):
            d = math.dist(screen_to_input(f, *p), screen_to_input(f, *q))
            assert d == pytest.approx(math.dist(p, q))


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_the_model_path_agrees(rotation: int) -> None:
    """A norm-1000 model point lands on the same screen px, then takes the same turn."""
    upright = Frame.for_screen(W, H, convention="norm1000")
    turned = Frame.for_screen(W, H, rotation=rotation, convention="norm1000")  # type: ignore[arg-type]
    for mx, my in ((250, 750), (900, 100)):
        on_screen = model_to_input(upright, mx, my)  # rotation 0, scale 1: screenshot px
        assert model_to_input(turned, mx, my) == screen_to_input(turned, *on_screen)
