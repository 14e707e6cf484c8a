"""Calibration: model text → parser → env.step → where the program saw the click.

Exact-precision runs must land on the target pixel (0 px) for the board env (scale 1 and 2),
the desktop (Xvfb 1366×768, a real Tk window) and the browser (headless Chromium, DSF 1 and 2,
a 1366×768 viewport); integer precision stays within the format's quantisation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from agent.calibration import (
    BoardSurface,
    CalibrationReport,
    Marker,
    calibrate,
    default_formats,
    grid_targets,
    make_surface,
    render,
    spec_key,
    target_page,
)
from agent.cli import main
from agent.core.coords import Frame
from model.parsers import convention_for, frame_options, mode_for, parse
from model.profiles import PROFILES

DEFAULT_FORMATS = default_formats()

# the real envs click a 3×2 grid plus the four near-corner pixels (odd and even positions on
# both axes, every edge): the default 5×4 adds steps, not cases (CI time)
SMALL_GRID = (3, 2)


def test_grid_targets_cover_the_screen_inside_it() -> None:
    ts = grid_targets(1366, 768)
    assert len(ts) == 24
    assert all(0 <= t.x < 1366 and 0 <= t.y < 768 for t in ts)
    assert {t.x % 2 for t in ts} == {0, 1}  # odd and even columns
    assert (ts[-1].x, ts[-1].y) == (1359, 761)
    small = grid_targets(1366, 768, *SMALL_GRID)
    assert len(small) == 10 and {t.x % 2 for t in small} == {t.y % 2 for t in small} == {0, 1}


def test_every_profile_coordinate_space_is_calibrated() -> None:
    spaces = {convention_for(f) for f in DEFAULT_FORMATS}
    assert spaces >= {"abs", "norm1000", "norm999", "screen"}
    used = {p.format_for(s) for p in PROFILES.values() for s in p.action_spaces}
    assert set(DEFAULT_FORMATS) <= used
    assert {spec_key(f) for f in used} == {spec_key(f) for f in DEFAULT_FORMATS}
    assert len({spec_key(f) for f in DEFAULT_FORMATS}) == len(DEFAULT_FORMATS)


@pytest.mark.parametrize("fmt", DEFAULT_FORMATS)
def test_rendered_text_parses_back_to_the_point(fmt: str) -> None:
    frame = Frame.for_screen(
        1366, 768, mode=mode_for(fmt), convention=convention_for(fmt), **frame_options(fmt)
    )
    for sx, sy in ((683.0, 384.0), (6.0, 761.0), (1359.0, 6.0)):
        text = render(fmt, "t", frame, (sx, sy), (sx - 3, sy - 3, sx + 3, sy + 3), "exact")
        (click,) = parse(fmt, text, frame).actions
        assert click.type == "click"
        assert click.point == pytest.approx((sx, sy), abs=1e-3)


def test_qwen2_vl_text_shape() -> None:
    frame = Frame.for_screen(1400, 1400, convention="norm1000")  # 1.4 screen px per unit
    box = (203.0, 204.4, 217.0, 218.4)  # (150, 151) ± 5 units
    text = render("qwen2-vl", "OK", frame, (210.0, 211.4), box, "int")
    assert text == (
        "click <|object_ref_start|>OK<|object_ref_end|><|box_start|>(145,146),(155,156)<|box_end|>"
    )


def test_target_page_records_clicks() -> None:
    html = target_page([Marker("a", 10, 20)])
    assert "left:5.0px;top:15.0px;width:10.0px" in html
    assert "mousedown" in html and "__clicks" in html


def _assert_exact(report: CalibrationReport, n_targets: int) -> None:
    assert report.ok, report.table()
    assert len(report.rows) == len(DEFAULT_FORMATS) * n_targets
    assert {r.format for r in report.rows} == set(DEFAULT_FORMATS)
    assert report.max_error() == 0.0, report.table()
    for r in report.rows:
        assert r.landed_screen == pytest.approx(r.expected_screen, abs=0)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_board_is_pixel_exact(scale: float) -> None:
    from board_env import BoardEnv

    surface = BoardSurface(BoardEnv(scale=scale))
    try:
        report = calibrate(surface)
        _assert_exact(report, 3)
        n = len(DEFAULT_FORMATS)
        assert [b.clicks for b in surface.env.state.buttons] == [n, n, n]  # type: ignore[attr-defined]
    finally:
        surface.close()


def test_cli_board_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["calibrate", "--env", "board", "--scale", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["max_error_px"] == dict.fromkeys(DEFAULT_FORMATS, 0.0)
    out = tmp_path / "cal.json"
    assert main(["calibrate", "--env", "board", "--json", str(out), "--max-error", "0"]) == 0
    assert "max error ui-tars: 0.00 px" in capsys.readouterr().out
    assert json.loads(out.read_text())["env"] == "board"


@pytest.mark.desktop
def test_desktop_is_pixel_exact_at_an_odd_screen_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)  # calibrate starts its own Xvfb
    surface = make_surface("desktop", screen=(1366, 768), grid=SMALL_GRID)
    try:
        obs = surface.env.observe()
        assert obs.size == (1366, 768)
        _assert_exact(calibrate(surface), 10)
        report = calibrate(surface, formats=["qwen2-vl"], precision="int")
        # integers in 0–1000 of a 1372-px-wide input: within half a unit (≈0.7 px) per axis
        bound = math.hypot(0.5 * 1372 / 1000, 0.5 * 784 / 1000) + 0.5
        assert report.ok and report.max_error() <= bound, report.table()
    finally:
        surface.close()


@pytest.mark.browser
@pytest.mark.parametrize("dsf", [1.0, 2.0])
def test_browser_is_pixel_exact(dsf: float) -> None:
    surface = make_surface("browser", viewport=(1366, 768), dsf=dsf, grid=SMALL_GRID)
    try:
        obs = surface.env.observe()
        assert obs.size == (int(1366 * dsf), int(768 * dsf)) and obs.scale == dsf
        _assert_exact(calibrate(surface), 10)
    finally:
        surface.close()
