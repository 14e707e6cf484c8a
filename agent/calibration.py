"""Calibration: do model coordinates land on the pixel they name, end to end?

For each known target (a position in the env's *input units*), the target centre is taken
to screenshot px with :func:`agent.coords.input_to_screen`, expressed in a model format's
frame (:func:`agent.coords.screen_to_model`), rendered as that model's text, parsed back with
:func:`model.parsers.parse`, executed with ``env.step`` and read back from where the program
saw the click. The error per target is in screenshot px; the whole chain (frames, parser,
rounding to input units, the env's input API) is under test.

``precision="exact"`` renders coordinates with enough decimals to round-trip, so any error
is a pipeline bug; ``"int"`` renders integers as real models do, so the error shows the
format's quantisation (≈ half a model unit in screenshot px). Surfaces (browser, desktop,
board) live in :mod:`agent.calibration_surfaces`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from agent.actions import Click
from agent.coords import Frame, input_to_screen, screen_to_model
from envs.base import Env, Observation

Precision = Literal["exact", "int"]
DEFAULT_FORMATS = ("qwen2-vl", "ui-tars-1.5")


@dataclass(frozen=True)
class Target:
    """A target centre and size in input units (CSS px, X root px, logical units)."""

    name: str
    x: float
    y: float
    w: float = 10.0
    h: float = 10.0


class Surface(Protocol):
    """Known targets on screen in an env, and a way to read back where a click landed."""

    env: Env
    targets: list[Target]

    def mark(self) -> None:
        """Forget clicks seen so far."""

    def landed(self) -> tuple[float, float] | None:
        """Input units of the first click since ``mark`` (None if none arrived)."""

    def close(self) -> None: ...


def grid_targets(width: int, height: int, cols: int = 5, rows: int = 4) -> list[Target]:
    """Integer-centred targets over a ``width``×``height`` input-unit screen: a grid plus the
    four near-corner pixels (where rounding and clamping bugs show)."""
    out: list[Target] = []
    for r in range(rows):
        for c in range(cols):
            x = round((c + 0.5) * width / cols) + (c % 2)  # odd and even positions both
            y = round((r + 0.5) * height / rows) + (r % 2)
            out.append(Target(f"r{r}c{c}", x, y))
    for name, x, y in (
        ("top-left", 6, 6),
        ("top-right", width - 7, 6),
        ("bottom-left", 6, height - 7),
        ("bottom-right", width - 7, height - 7),
    ):
        out.append(Target(name, x, y))
    return out


# ---- rendering model text ------------------------------------------------------------------


def _num(v: float, precision: Precision) -> str:
    if precision == "int":
        return str(math.floor(v + 0.5))
    s = f"{v:.6f}".rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"


def _box(cx: float, cy: float, hw: float, hh: float, p: Precision) -> tuple[str, ...]:
    return tuple(_num(v, p) for v in (cx - hw, cy - hh, cx + hw, cy + hh))


def render(
    format: str, name: str, point: tuple[float, float], half: tuple[float, float], p: Precision
) -> str:
    """The model's text for "click ``name``" at ``point`` (model frame), in ``format``."""
    x, y = point
    if format in ("qwen2-vl", "qwen-vl"):
        x1, y1, x2, y2 = _box(x, y, half[0], half[1], p)
        if format == "qwen-vl":
            return f"click <ref>{name}</ref><box>({x1},{y1}),({x2},{y2})</box>"
        return (
            f"click <|object_ref_start|>{name}<|object_ref_end|>"
            f"<|box_start|>({x1},{y1}),({x2},{y2})<|box_end|>"
        )
    if format in ("ui-tars", "ui-tars-1.5"):
        return f"Thought: click {name}\nAction: click(start_box='({_num(x, p)},{_num(y, p)})')"
    if format == "qwen2.5-vl":
        return json.dumps({"point_2d": [float(_num(x, p)), float(_num(y, p))], "label": name})
    if format == "json":
        return json.dumps({"type": "click", "point": [float(_num(x, p)), float(_num(y, p))]})
    raise ValueError(f"calibration cannot render format {format!r}")


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
        return math.inf if any(e is None for e in errs) else max(errs, default=0.0)  # type: ignore[type-var]

    @property
    def ok(self) -> bool:
        return all(r.error_px is not None for r in self.rows)

    def table(self) -> str:
        head = f"{'target':<12} {'format':<11} {'expected px':>15} {'landed px':>15} {'error':>7}"
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
                f"{r.target:<12} {r.format:<11} {_pt(r.expected_screen):>15} {landed:>15} {err:>7}"
            )
        for fmt in dict.fromkeys(r.format for r in self.rows):
            lines.append(f"max error {fmt}: {self.max_error(fmt):.2f} px")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in asdict(self).items() if k != "rows"},
            "max_error_px": {f: self.max_error(f) for f in dict.fromkeys(r.format for r in self.rows)},
            "rows": [asdict(r) for r in self.rows],
        }


def _pt(p: tuple[float, float]) -> str:
    return f"({p[0]:.1f},{p[1]:.1f})"


def calibrate(
    surface: Surface,
    *,
    formats: Sequence[str] = DEFAULT_FORMATS,
    precision: Precision = "exact",
    progress: Callable[[Row], None] | None = None,
) -> CalibrationReport:
    """Click every target through every format and measure where the clicks land."""
    from model.parsers import convention_for, mode_for, parse

    env = surface.env
    obs = env.observe()
    report = CalibrationReport(env.name, obs.size, obs.scale, precision)
    for fmt in formats:
        mframe = obs.frame(mode=mode_for(fmt), convention=convention_for(fmt))
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
    t: Target,
    precision: Precision,
    parse: Callable[..., Any],
) -> Row:
    geo = obs.frame()  # geometry only: scale, offset, rotation
    ex, ey = input_to_screen(geo, t.x, t.y)
    mx, my = screen_to_model(mframe, ex, ey)
    cx, cy = input_to_screen(geo, t.x + t.w / 2, t.y + t.h / 2)
    corner = screen_to_model(mframe, cx, cy)
    half = (abs(corner[0] - mx), abs(corner[1] - my))
    text = render(fmt, t.name, (mx, my), half, precision)
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
