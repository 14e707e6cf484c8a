"""Calibration: do model coordinates land on the pixel they name, end to end?

For each known target (a position in the env's *input units*), the target centre is taken
to screenshot px with :func:`agent.core.coords.input_to_screen`, expressed in a model format's
frame (:func:`agent.core.coords.screen_to_model`), rendered as that model's text, parsed back with
:func:`model.parsers.parse`, executed with ``env.step`` and read back from where the program
saw the click. The error per target is in screenshot px; the whole chain (frames, parser,
rounding to input units, the env's input API) is under test.

``precision="exact"`` renders coordinates with enough decimals to round-trip, so any error
is a pipeline bug; ``"int"`` renders integers as real models do, so the error shows the
format's quantisation (≈ half a model unit in screenshot px).

Surfaces put the targets on screen: the browser gets a generated page (a local file) whose
``mousedown`` listener records ``clientX/clientY`` (CSS px); the desktop gets a full-screen
Tk window (:mod:`envs.desktop.targets`) that logs ``x_root/y_root``; the example board env
uses its own buttons and records the input point it computed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from agent.core.actions import Click
from agent.core.coords import Frame, input_to_screen
from agent.core.env import Env
from agent.core.errors import ConfigError, EnvNotAvailableError
from agent.core.observation import Observation

Precision = Literal["exact", "int"]


def spec_key(fmt: str) -> tuple[str, float, str, int]:
    """What decides where a dialect's click lands: space, full scale, input mode, grid."""
    from model.parsers import spec_for

    c = spec_for(fmt).coords
    return c.space, c.full_scale, c.mode, c.factor


def default_formats() -> tuple[str, ...]:
    """One dialect per distinct coordinate spec among every family's dialects (in every
    action space): the set that calibrates every way a family's numbers become a click."""
    from model.profiles import PROFILES

    seen: dict[tuple[str, float, str, int], str] = {}
    for p in PROFILES.values():
        for space in p.action_spaces:
            fmt = p.format_for(space)
            seen.setdefault(spec_key(fmt), fmt)
    return tuple(seen.values())


Point = tuple[float, float]
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Marker:
    """A calibration marker: its centre and size in input units (CSS px, X root px, logical
    units). Not the gate's :class:`agent.safety.targets.Target` (what an action presses)."""

    name: str
    x: float
    y: float
    w: float = 10.0
    h: float = 10.0


class Surface(Protocol):
    """Known targets on screen in an env, and a way to read back where a click landed."""

    targets: list[Marker]

    @property
    def env(self) -> Env:
        """The env the targets are shown in."""

    def mark(self) -> None:
        """Forget clicks seen so far."""

    def landed(self) -> tuple[float, float] | None:
        """Input units of the first click since ``mark`` (None if none arrived)."""

    def close(self) -> None: ...


GRID = (5, 4)  # columns × rows of the default targets (plus the four near-corner ones)


def grid_targets(width: int, height: int, cols: int = GRID[0], rows: int = GRID[1]) -> list[Marker]:
    """Integer-centred targets over a ``width``×``height`` input-unit screen: a grid plus the
    four near-corner pixels (where rounding and clamping bugs show)."""
    out: list[Marker] = []
    for r in range(rows):
        for c in range(cols):
            x = round((c + 0.5) * width / cols) + (c % 2)  # odd and even positions both
            y = round((r + 0.5) * height / rows) + (r % 2)
            out.append(Marker(f"r{r}c{c}", x, y))
    for name, x, y in (
        ("top-left", 6, 6),
        ("top-right", width - 7, 6),
        ("bottom-left", 6, height - 7),
        ("bottom-right", width - 7, height - 7),
    ):
        out.append(Marker(name, x, y))
    return out


# ---- rendering model text ------------------------------------------------------------------


def render(format: str, name: str, frame: Frame, point: Point, box: Box, p: Precision) -> str:
    """The model's text for "click ``name``" at ``point`` (screenshot px; ``box`` its marker)
    in ``format``: the dialect's own renderer (:attr:`model.parsers.Dialect.render`)."""
    from agent.export.render import render as render_dialect

    click = Click(point=point, box=box, target=name)
    return render_dialect([click], frame, format, thought=f"click {name}", precise=p == "exact")


# ---- running -------------------------------------------------------------------------------


@dataclass
class Row:
    target: str
    format: str
    mode: str
    expected_screen: tuple[float, float]
    model_text: str
    parsed_screen: tuple[float, float] | None = None
    sent_input: tuple[int, int] | None = None
    landed_input: tuple[float, float] | None = None
    landed_screen: tuple[float, float] | None = None
    error_px: float | None = None
    problem: str | None = None


@dataclass
class CalibrationReport:
    env: str
    screen: tuple[int, int]
    scale: float
    precision: str
    rows: list[Row] = field(default_factory=list)

    def max_error(self, format: str | None = None) -> float:
        errs = [r.error_px for r in self.rows if format in (None, r.format)]
        if any(e is None for e in errs):
            return math.inf
        return max((e for e in errs if e is not None), default=0.0)

    @property
    def ok(self) -> bool:
        return all(r.error_px is not None for r in self.rows)

    def table(self) -> str:
        head = f"{'target':<13} {'format':<11} {'expected px':>15} {'landed px':>15} {'error':>7}"
        lines = [
            f"{self.env}: screen {self.screen[0]}x{self.screen[1]} px, scale {self.scale:g}, "
            f"precision {self.precision}",
            head,
            "-" * len(head),
        ]
        for r in self.rows:
            landed = "-" if r.landed_screen is None else _pt(r.landed_screen)
            err = r.problem or "-" if r.error_px is None else f"{r.error_px:.2f}"
            lines.append(
                f"{r.target:<13} {r.format:<11} {_pt(r.expected_screen):>15} {landed:>15} {err:>7}"
            )
        for fmt in dict.fromkeys(r.format for r in self.rows):
            lines.append(f"max error {fmt}: {self.max_error(fmt):.2f} px")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in asdict(self).items() if k != "rows"},
            "max_error_px": {
                f: self.max_error(f) for f in dict.fromkeys(r.format for r in self.rows)
            },
            "rows": [asdict(r) for r in self.rows],
        }


def _pt(p: tuple[float, float]) -> str:
    return f"({p[0]:.1f},{p[1]:.1f})"


def calibrate(
    surface: Surface,
    *,
    formats: Sequence[str] | None = None,
    precision: Precision = "exact",
    progress: Callable[[Row], None] | None = None,
) -> CalibrationReport:
    """Click every target through every format (default: :func:`default_formats`) and
    measure where the clicks land."""
    formats = default_formats() if formats is None else formats
    from model.parsers import convention_for, frame_options, mode_for, parse, spec_for

    env = surface.env
    obs = env.observe()
    report = CalibrationReport(env.name, obs.size, obs.scale, precision)
    for fmt in formats:
        mframe = obs.frame(mode=mode_for(fmt), convention=convention_for(fmt), **frame_options(fmt))
        mframe = mframe.with_convention(convention_for(fmt), spec_for(fmt).coords.divisor)
        for t in surface.targets:
            row = _one(surface, obs, mframe, fmt, t, precision, parse)
            report.rows.append(row)
            if progress is not None:
                progress(row)
    return report


def _one(
    surface: Surface,
    obs: Observation,
    mframe: Frame,
    fmt: str,
    t: Marker,
    precision: Precision,
    parse: Callable[..., Any],
) -> Row:
    geo = obs.frame()  # geometry only: scale, offset, rotation
    ex, ey = input_to_screen(geo, t.x, t.y)
    cx, cy = input_to_screen(geo, t.x + t.w / 2, t.y + t.h / 2)
    hw, hh = abs(cx - ex), abs(cy - ey)
    text = render(fmt, t.name, mframe, (ex, ey), (ex - hw, ey - hh, ex + hw, ey + hh), precision)
    row = Row(t.name, fmt, mframe.mode, (ex, ey), text)
    parsed = parse(fmt, text, mframe)
    click = parsed.actions[0]
    assert isinstance(click, Click), f"{fmt} parsed {click.type}, expected click"
    row.parsed_screen = click.point
    row.sent_input = surface.env.to_input(click.point, geo)
    surface.mark()
    res = surface.env.step(click)
    if res.observation.last_action_error:
        row.problem = res.observation.last_action_error
        return row
    landed = surface.landed()
    if landed is None:
        row.problem = "no click arrived"
        return row
    row.landed_input = landed
    row.landed_screen = input_to_screen(geo, *landed)
    row.error_px = math.dist(row.landed_screen, (ex, ey))
    return row


# ---- surfaces ------------------------------------------------------------------------------


def target_page(targets: list[Marker]) -> str:
    """HTML of small targets at known CSS positions that records every mousedown."""
    divs = "".join(
        f'<div id="{t.name}" style="position:absolute;left:{t.x - t.w / 2}px;'
        f"top:{t.y - t.h / 2}px;width:{t.w}px;height:{t.h}px;"
        f'outline:1px solid red;box-sizing:border-box"></div>'
        for t in targets
    )
    html = (
        "<!doctype html><html><head><title>calibration</title><style>html,body{margin:0;"
        "overflow:hidden;width:100vw;height:100vh;background:#fff}</style></head><body>"
        f"{divs}<script>window.__clicks=[];document.addEventListener('mousedown',"
        "e=>window.__clicks.push([e.clientX,e.clientY]),true)</script></body></html>"
    )
    return html


class BrowserSurface:
    """Headless Chromium at ``viewport`` CSS px and ``dsf``; targets in CSS px."""

    def __init__(
        self,
        viewport: tuple[int, int] = (1366, 768),
        dsf: float = 1.0,
        grid: tuple[int, int] = GRID,
        **kw: Any,
    ):
        from envs.browser import BrowserEnv

        self.targets = grid_targets(*viewport, *grid)
        self._dir = tempfile.mkdtemp(prefix="calibrate-")
        page = Path(self._dir, "targets.html")
        page.write_text(target_page(self.targets), encoding="utf-8")
        try:
            self.env: Env = BrowserEnv(page.as_uri(), viewport=viewport, dsf=dsf, **kw)
            self.env.reset()
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise
        self._seen = 0

    def _clicks(self) -> list[list[float]]:
        return self.env.page.evaluate("() => window.__clicks")  # type: ignore[attr-defined]

    def mark(self) -> None:
        self._seen = len(self._clicks())

    def landed(self) -> tuple[float, float] | None:
        clicks = self._clicks()[self._seen :]
        return (float(clicks[0][0]), float(clicks[0][1])) if clicks else None

    def close(self) -> None:
        self.env.close()
        shutil.rmtree(self._dir, ignore_errors=True)


class DesktopSurface:
    """A full-screen target window on ``display`` (or on a private Xvfb of ``screen`` size
    when there is no display); targets in X root px."""

    def __init__(
        self,
        display: str | None = None,
        screen: tuple[int, int] = (1366, 768),
        grid: tuple[int, int] = GRID,
        **kw: Any,
    ) -> None:
        from envs.desktop import DesktopEnv, Xvfb

        self.xvfb: Xvfb | None = None
        self._seen = 0
        display = display or os.environ.get("DISPLAY")
        if not display and shutil.which("Xvfb"):
            self.xvfb = Xvfb(*screen).start()
            display = self.xvfb.display
        self._dir = tempfile.mkdtemp(prefix="calibrate-")
        self.log = os.path.join(self._dir, "clicks.jsonl")
        try:
            probe = DesktopEnv(display=display, **kw)
            left, top, w, h = probe.monitor_rect
            probe.close()
            self.targets = [
                Marker(t.name, t.x + left, t.y + top, t.w, t.h) for t in grid_targets(w, h, *grid)
            ]
            data = json.dumps([asdict(t) for t in self.targets])
            app = [sys.executable, "-m", "envs.desktop.targets", self.log, data]
            app += [str(v) for v in (left, top, w, h)]
            self.env = DesktopEnv(display=display, app=app, settle=0.05, **kw)
            self.env.reset()
            if self._wait(lambda e: e["event"] == "ready", 15.0) is None:
                raise EnvNotAvailableError("the calibration window did not come up")
        except BaseException:
            self.close()
            raise

    def _events(self) -> list[dict[str, Any]]:
        if not os.path.exists(self.log):
            return []
        with open(self.log, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def _wait(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while True:
            for e in self._events()[self._seen :]:
                if pred(e):
                    return e
            if time.monotonic() > deadline:
                return None
            time.sleep(0.03)

    def mark(self) -> None:
        self._seen = len(self._events())

    def landed(self) -> tuple[float, float] | None:
        e = self._wait(lambda e: e["event"] == "click", 3.0)
        return None if e is None else (float(e["x_root"]), float(e["y_root"]))

    def close(self) -> None:
        if getattr(self, "env", None) is not None:
            self.env.close()
        if self.xvfb is not None:
            self.xvfb.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


class BoardSurface:
    """The example board env: its buttons are the targets (logical units); the input point
    its click handler computed is the read-back."""

    def __init__(self, env: Env) -> None:
        self.env = env
        env.reset()
        self.targets = [
            Marker(b.label, (b.box[0] + b.box[2]) / 2, (b.box[1] + b.box[3]) / 2)
            for b in env.state.buttons  # type: ignore[attr-defined]
        ]
        self._points: list[tuple[int, int]] = []
        inner = env._execute_click  # type: ignore[attr-defined]

        def recording(point: tuple[float, float], frame: Frame) -> tuple[int, int]:
            unit = inner(point, frame)
            self._points.append(unit)
            return unit

        env._execute_click = recording  # type: ignore[attr-defined]

    def mark(self) -> None:
        self._points.clear()

    def landed(self) -> tuple[float, float] | None:
        return (float(self._points[0][0]), float(self._points[0][1])) if self._points else None

    def close(self) -> None:
        self.env.close()


def make_surface(env: str, **kw: Any) -> Surface:
    """browser (viewport, dsf, ...), desktop (display, screen, monitor) or board (size, scale)."""
    if env == "browser":
        return BrowserSurface(**kw)
    if env == "desktop":
        return DesktopSurface(**kw)
    if env == "board":
        try:
            from board_env import BoardEnv  # type: ignore[import-not-found]  # examples/
        except ModuleNotFoundError:
            here = os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples")
            sys.path.insert(0, here)
            from board_env import BoardEnv
        return BoardSurface(BoardEnv(**kw))
    raise ConfigError(f"calibration knows browser, desktop and board, not {env!r}")
