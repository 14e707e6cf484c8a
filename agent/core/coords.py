"""The coordinate contract — the one pure module that converts coordinates.

Three spaces (docs/concepts/coordinates.md):

* **model frame**: what a model emits — 0–1000 normalised (``norm1000``: Qwen2-VL, UI-TARS v1,
  Qwen3-VL), 0–999 (``norm999``: Qwen3-VL's mobile cookbook, ``x / 999 * width``), 0–1 (``norm1``),
  absolute pixels of the image the model was given (``abs``), or screenshot pixels
  already (``screen``, used by the plain-JSON format and by grounders);
* **screenshot pixels**: physical pixels of the captured screenshot, origin top-left;
  every :mod:`agent.core.actions` point lives here;
* **input units**: what an env's input API takes (CSS px = screenshot px / DSF, logical
  points on HiDPI desktops, device px with rotation on Android), plus a monitor offset.

Rounding happens once, in :func:`screen_to_input`, which also clamps to the screen; a point
farther than ``Frame.tolerance`` screenshot px outside the screen raises
:class:`~agent.core.errors.CoordinateError` instead of being clamped.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.core.errors import CoordinateError, VisionInputError

PATCH = 14
MERGE = 2
FACTOR = PATCH * MERGE  # 28: each model-input side is a multiple of this (Qwen3-VL: 16×2 = 32)
DEFAULT_MAX_TOKENS = 16384  # Qwen2-VL hub configs: max_pixels = 16384 * 28 * 28
MIN_PIXELS = 56 * 56
MAX_ASPECT = 200

Convention = Literal["norm1000", "norm999", "norm1", "abs", "screen"]
# full scale of each normalised convention: a model unit is input_size / scale
NORM_SCALE: dict[str, float] = {"norm1000": 1000.0, "norm999": 999.0, "norm1": 1.0}
Mode = Literal["pad", "resize"]
Rotation = Literal[0, 90, 180, 270]


def smart_resize(
    height: int,
    width: int,
    factor: int = FACTOR,
    min_pixels: int = MIN_PIXELS,
    max_pixels: int = DEFAULT_MAX_TOKENS * FACTOR * FACTOR,
) -> tuple[int, int]:
    """Qwen2-VL's ``smart_resize``: (height, width) → nearest multiples of ``factor`` whose
    area lies in [min_pixels, max_pixels], aspect ratio kept. Same arithmetic as transformers.
    """
    if height <= 0 or width <= 0:
        raise VisionInputError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > MAX_ASPECT:
        raise VisionInputError(
            f"aspect ratio of {width}x{height} exceeds {MAX_ASPECT}: crop the screenshot first"
        )
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def padded_size(width: int, height: int, factor: int = FACTOR) -> tuple[int, int]:
    """Smallest (w, h) ≥ the image with both sides multiples of ``factor`` (and ≥ 2 factors,
    so that the area reaches Qwen2-VL's ``min_pixels``)."""
    if width <= 0 or height <= 0:
        raise VisionInputError(f"image size must be positive, got {width}x{height}")
    w = max(2 * factor, math.ceil(width / factor) * factor)
    h = max(2 * factor, math.ceil(height / factor) * factor)
    return w, h


def fit_within(
    width: int,
    height: int,
    *,
    long_edge: int | None = None,
    short_edge: int | None = None,
    max_pixels: int | None = None,
) -> tuple[int, int]:
    """The largest (w, h) with the image's aspect ratio (each side rounded down, at least 1)
    whose long side ≤ ``long_edge``, short side ≤ ``short_edge`` and area ≤ ``max_pixels``
    (``None``: no such limit); never larger than the image. Hosted APIs state their image
    limits this way (model/backends/hosted)."""
    if width <= 0 or height <= 0:
        raise VisionInputError(f"image size must be positive, got {width}x{height}")
    s = 1.0
    if long_edge is not None:
        s = min(s, long_edge / max(width, height))
    if short_edge is not None:
        s = min(s, short_edge / min(width, height))
    if max_pixels is not None:
        s = min(s, math.sqrt(max_pixels / (width * height)))
    if s >= 1.0:
        return width, height
    return max(1, math.floor(width * s)), max(1, math.floor(height * s))


def image_tokens(input_w: int, input_h: int, factor: int = FACTOR) -> int:
    """LLM tokens for an image of this model-input size (patches merged 2×2)."""
    return (input_w // factor) * (input_h // factor)


class Frame(BaseModel):
    """How one screenshot became model input, and how the env takes input.

    Recorded with every step, so any point in any space can be re-derived later.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    screen_w: int = Field(gt=0, description="Screenshot width, physical px.")
    screen_h: int = Field(gt=0, description="Screenshot height, physical px.")
    mode: Mode = "pad"
    input_w: int = Field(gt=0, description="Model-input width (multiple of factor).")
    input_h: int = Field(gt=0, description="Model-input height (multiple of factor).")
    factor: int = Field(default=FACTOR, gt=0, description="Grid: patch × merge (28 or 32).")
    resampled: bool = False
    reason: str | None = Field(default=None, description="Why the image was resampled.")
    convention: Convention = "norm1000"
    scale: float = Field(default=1.0, gt=0, description="Screenshot px per input unit (DSF).")
    offset_x: float = 0.0
    offset_y: float = 0.0
    rotation: Rotation = 0
    tolerance: float = Field(
        default=float(FACTOR), ge=0, description="Screenshot px outside the screen still clamped."
    )
    pointer: tuple[float, float] | None = Field(
        default=None, description="Where the env's pointer was, screenshot px (None: unknown)."
    )
    divisor: float | None = Field(
        default=None,
        gt=0,
        description="Full scale of a relative convention (None: the convention's own: 1000, "
        "999 or 1); a family whose code divides by another number sets it.",
    )

    @classmethod
    def for_screen(
        cls,
        screen_w: int,
        screen_h: int,
        *,
        mode: Mode = "pad",
        max_tokens: int = DEFAULT_MAX_TOKENS,
        convention: Convention = "norm1000",
        scale: float = 1.0,
        offset: tuple[float, float] = (0.0, 0.0),
        rotation: Rotation = 0,
        min_pixels: int | None = None,
        factor: int = FACTOR,
        pointer: tuple[float, float] | None = None,
        divisor: float | None = None,
    ) -> Frame:
        """Plan the model input: pad to multiples of ``factor`` (28 or 32) unless that exceeds
        ``max_tokens`` (then resample à la smart_resize, and say so); ``resize`` mode always
        smart-resizes, with ``min_pixels`` (default: 2×2 grid cells) and the token cap."""
        if max_tokens < 4:
            raise VisionInputError(f"max_tokens must be ≥ 4, got {max_tokens}")
        if factor < 2 or factor % 2:
            raise VisionInputError(f"factor must be an even patch × merge, got {factor}")
        min_px = 4 * factor * factor if min_pixels is None else min_pixels  # 56² at 28
        reason = None
        if mode == "pad":
            w, h = padded_size(screen_w, screen_h, factor)
            if image_tokens(w, h, factor) > max_tokens:
                reason = (
                    f"pad to {w}x{h} = {image_tokens(w, h, factor)} tokens exceeds the cap of "
                    f"{max_tokens}; resampled"
                )
                mode = "resize"
        if mode == "resize":
            h, w = smart_resize(
                screen_h, screen_w, factor, min_pixels=min_px, max_pixels=max_tokens * factor**2
            )
            if reason is None and (w, h) != (screen_w, screen_h):
                reason = "resize mode requested"
        return cls(
            screen_w=screen_w,
            screen_h=screen_h,
            mode=mode,
            input_w=w,
            input_h=h,
            resampled=(mode == "resize" and (w, h) != (screen_w, screen_h)),
            reason=reason,
            convention=convention,
            scale=scale,
            offset_x=offset[0],
            offset_y=offset[1],
            rotation=rotation,
            factor=factor,
            pointer=pointer,
            divisor=divisor,
        )

    def resized_to(
        self,
        input_w: int,
        input_h: int,
        *,
        convention: Convention,
        reason: str | None = None,
        tolerance: float | None = None,
    ) -> Frame:
        """This screenshot sent as an image of exactly ``input_w`` × ``input_h`` (stretched,
        no padding and no grid): a hosted API's declared display. ``resampled`` and
        ``reason`` say whether it was shrunk; ``tolerance`` (screenshot px) replaces the
        default, e.g. 0.5 so that a point outside the declared display is refused."""
        if input_w <= 0 or input_h <= 0:
            raise VisionInputError(f"input size must be positive, got {input_w}x{input_h}")
        same = (input_w, input_h) == (self.screen_w, self.screen_h)
        update: dict[str, object] = {
            "mode": "resize",
            "input_w": input_w,
            "input_h": input_h,
            "resampled": not same,
            "reason": None if same else reason or "resized to the declared display",
            "convention": convention,
            "divisor": None,
        }
        if tolerance is not None:
            update["tolerance"] = tolerance
        return Frame.model_validate({**self.model_dump(), **update})

    def with_convention(self, convention: Convention, divisor: float | None = None) -> Frame:
        """The same frame read in another convention (and full scale; None: its own)."""
        return self.model_copy(update={"convention": convention, "divisor": divisor})

    @property
    def full_scale(self) -> float:
        """The value a relative coordinate takes at the far edge (1000, 999, 1, or the
        family's own divisor); 1 for pixel conventions."""
        if self.convention not in NORM_SCALE:
            return 1.0
        return self.divisor or NORM_SCALE[self.convention]

    @property
    def tokens(self) -> int:
        return image_tokens(self.input_w, self.input_h, self.factor)

    @property
    def input_size_units(self) -> tuple[int, int]:
        """The screen's size in input units (after rotation and scale)."""
        w, h = self.screen_w, self.screen_h
        if self.rotation in (90, 270):
            w, h = h, w
        return math.ceil(w / self.scale - 1e-9), math.ceil(h / self.scale - 1e-9)


class CoordSpec(BaseModel):
    """How a dialect's numbers name a point, as data: the space (relative 0–1 / 0–1000 /
    0–999, pixels of the model input, screenshot pixels), the divisor a family's own code
    uses where it is not the space's (UI-Venus-1.5 prompts 0–999 and divides by 1000), the
    range its prompt states, and the reference size: the model input — the padded native
    canvas in ``pad`` mode, or the authors' ``smart_resize(factor, min_pixels, max_pixels)``
    in ``resize`` mode. :meth:`frame` plans the Frame; this module alone converts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    space: Convention
    divisor: float | None = Field(default=None, gt=0)
    stated: int | None = Field(default=None, gt=0)
    mode: Mode = "pad"
    factor: int = Field(default=FACTOR, gt=0)
    min_pixels: int | None = Field(default=None, gt=0)
    max_pixels: int | None = Field(default=None, gt=0)

    @property
    def full_scale(self) -> float:
        """What the far edge is worth (1 for pixel spaces)."""
        if self.space not in NORM_SCALE:
            return 1.0
        return self.divisor or NORM_SCALE[self.space]

    def max_tokens(self) -> int | None:
        """The authors' pixel budget as image tokens (None: the model's own cap)."""
        return None if self.max_pixels is None else max(4, self.max_pixels // self.factor**2)

    def frame(
        self, screen_w: int, screen_h: int, *, mode: Mode | None = None, **kw: object
    ) -> Frame:
        """The Frame of a ``screen_w``×``screen_h`` screenshot for a model speaking this
        spec (``mode`` overrides the authors' mode; other keywords go to
        :meth:`Frame.for_screen`)."""
        opts: dict[str, object] = {"factor": self.factor, "divisor": self.divisor}
        if self.min_pixels is not None:
            opts["min_pixels"] = self.min_pixels
        if (cap := self.max_tokens()) is not None:
            opts["max_tokens"] = cap
        opts.update(kw)
        return Frame.for_screen(
            screen_w,
            screen_h,
            mode=mode or self.mode,
            convention=self.space,
            **opts,  # type: ignore[arg-type]
        )

    def prompt_size(self, frame: Frame) -> tuple[int, int]:
        """The screen size a prompt must state for this space: the stated range (e.g.
        1000x1000, 999x999), the model-input size for input pixels, the screenshot size for
        screenshot pixels."""
        if self.space == "screen":
            return frame.screen_w, frame.screen_h
        if self.space in NORM_SCALE:
            full = self.stated or round(self.full_scale)
            return full, full
        return frame.input_w, frame.input_h

    def describe(self) -> str:
        """One line for ``agent models`` and the docs."""
        if self.space == "screen":
            where = "screenshot px"
        elif self.space == "abs":
            where = "px of the model input"
        else:
            top = f"{self.full_scale:g}"
            said = f", prompt says 0-{self.stated}" if self.stated else ""
            where = f"0-{top} (divides by {top}{said})"
        if self.mode == "resize":
            cap = f", max {self.max_pixels:,} px" if self.max_pixels else ""
            return f"{where}; authors resize (factor {self.factor}{cap})"
        return f"{where}; native input, grid {self.factor}"


def _finite(x: float, y: float, what: str) -> None:
    if not (math.isfinite(x) and math.isfinite(y)):
        raise CoordinateError(f"{what} ({x}, {y}) is not a finite point")


# ---- model frame <-> model-input pixels <-> screenshot pixels ---------------------------


def model_to_screen(frame: Frame, x: float, y: float) -> tuple[float, float]:
    """A point in the model's convention → screenshot px (floats, not rounded)."""
    _finite(x, y, "model point")
    if frame.convention == "screen":
        return float(x), float(y)
    if frame.convention in NORM_SCALE:
        full = frame.full_scale
        ix, iy = x / full * frame.input_w, y / full * frame.input_h
    else:  # abs: pixels of the model input
        ix, iy = float(x), float(y)
    if frame.mode == "pad":
        return ix, iy  # padding added pixels right/bottom without moving any
    return ix * frame.screen_w / frame.input_w, iy * frame.screen_h / frame.input_h


def screen_to_model(frame: Frame, x: float, y: float) -> tuple[float, float]:
    """Inverse of :func:`model_to_screen` (for prompts, history and gold boxes)."""
    _finite(x, y, "screen point")
    if frame.convention == "screen":
        return float(x), float(y)
    if frame.mode == "pad":
        ix, iy = float(x), float(y)
    else:
        ix, iy = x * frame.input_w / frame.screen_w, y * frame.input_h / frame.screen_h
    if frame.convention in NORM_SCALE:
        full = frame.full_scale
        return ix * full / frame.input_w, iy * full / frame.input_h
    return ix, iy


def box_center(x1: float, y1: float, x2: float, y2: float) -> tuple[float, float]:
    return (x1 + x2) / 2.0, (y1 + y2) / 2.0


def model_box_to_screen(
    frame: Frame, x1: float, y1: float, x2: float, y2: float
) -> tuple[float, float, float, float]:
    """A box in the model's convention → screenshot px, corners ordered."""
    ax, ay = model_to_screen(frame, x1, y1)
    bx, by = model_to_screen(frame, x2, y2)
    return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


# ---- screenshot pixels <-> input units ---------------------------------------------------


def check_on_screen(frame: Frame, x: float, y: float) -> None:
    """Raise CoordinateError if the point is non-finite or farther than ``tolerance``
    screenshot px outside the screen."""
    _finite(x, y, "point")
    t = frame.tolerance
    if not (-t <= x <= frame.screen_w - 1 + t and -t <= y <= frame.screen_h - 1 + t):
        raise CoordinateError(
            f"point ({x:.1f}, {y:.1f}) is outside the {frame.screen_w}x{frame.screen_h} "
            f"screenshot by more than {t:g} px"
        )


def _rotate(frame: Frame, x: float, y: float) -> tuple[float, float]:
    """Screenshot px → the input space's orientation (``rotation`` degrees clockwise)."""
    w, h = frame.screen_w, frame.screen_h
    if frame.rotation == 90:
        return h - 1 - y, x
    if frame.rotation == 180:
        return w - 1 - x, h - 1 - y
    if frame.rotation == 270:
        return y, w - 1 - x
    return x, y


def _unrotate(frame: Frame, x: float, y: float) -> tuple[float, float]:
    w, h = frame.screen_w, frame.screen_h
    if frame.rotation == 90:
        return y, h - 1 - x
    if frame.rotation == 180:
        return w - 1 - x, h - 1 - y
    if frame.rotation == 270:
        return w - 1 - y, x
    return x, y


def _round(v: float) -> int:
    return math.floor(v + 0.5)


def screen_to_input(frame: Frame, x: float, y: float) -> tuple[int, int]:
    """Screenshot px → env input units: the last step, where rounding and clamping happen."""
    check_on_screen(frame, x, y)
    cx = min(max(x, 0.0), frame.screen_w - 1.0)
    cy = min(max(y, 0.0), frame.screen_h - 1.0)
    rx, ry = _rotate(frame, cx, cy)
    uw, uh = frame.input_size_units
    ux = min(max(_round(rx / frame.scale), 0), uw - 1)
    uy = min(max(_round(ry / frame.scale), 0), uh - 1)
    return ux + _round(frame.offset_x), uy + _round(frame.offset_y)


def input_to_screen(frame: Frame, ux: float, uy: float) -> tuple[float, float]:
    """Env input units → screenshot px (inverse of :func:`screen_to_input`, unrounded)."""
    _finite(ux, uy, "input point")
    rx, ry = (ux - frame.offset_x) * frame.scale, (uy - frame.offset_y) * frame.scale
    return _unrotate(frame, rx, ry)


def model_to_input(frame: Frame, x: float, y: float) -> tuple[int, int]:
    """Convenience: model frame → input units in one go (calibration, ``agent parse``)."""
    sx, sy = model_to_screen(frame, x, y)
    return screen_to_input(frame, sx, sy)
