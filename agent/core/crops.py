"""Crop geometry for zoom: a window of native screenshot px around a point, and the mapping of
points read in that window (or in its ×2 upscale) back to the screen.

Kept beside :mod:`agent.core.coords` (the coordinate contract) rather than in it because that
module is near the house's 500-line limit; this module converts only between screenshot px
and crop px and leaves model frames and input units to ``coords``.

* A window has the full requested size wherever the screen allows it: at an edge it **shifts**
  inward instead of shrinking, so the point stays inside and the model always reads the same
  number of pixels. It shrinks only when the screen itself is smaller than the request.
* Sizes are screenshot px (physical); ``css=True`` reads a requested size in input units
  (CSS px, logical points) and multiplies it by the device scale factor (``Frame.scale``).
* ``factor`` (28 or 32, the model's grid) snaps the size to whole grid cells, so the crop is
  read as is: no padding and no resampling.
* ``upscale=2`` doubles the crop (bicubic): the only resampling zoom ever does, recorded in
  :attr:`Crop.resampling`. Crop px use the pixel-edge convention of ``coords``: crop point
  ``u`` is screen point ``x1 + u / upscale``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from agent.core.actions import Action
from agent.core.errors import CoordinateError, VisionInputError
from agent.core.observation import Observation

UPSCALES = (1, 2)


class Crop(BaseModel):
    """A window of the screenshot: ``x1, y1`` inclusive, ``x2, y2`` exclusive (screenshot px),
    and how its image was made (``upscale`` 1 or 2)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    x1: int = Field(ge=0)
    y1: int = Field(ge=0)
    x2: int = Field(gt=0)
    y2: int = Field(gt=0)
    screen_w: int = Field(gt=0)
    screen_h: int = Field(gt=0)
    upscale: int = 1

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    @property
    def height(self) -> int:
        return self.y2 - self.y1

    @property
    def box(self) -> tuple[float, float, float, float]:
        """``x1, y1, x2, y2`` as the grounder protocol's ``region`` (screenshot px)."""
        return float(self.x1), float(self.y1), float(self.x2), float(self.y2)

    @property
    def image_size(self) -> tuple[int, int]:
        """(w, h) of the image the model reads: the crop, times ``upscale``."""
        return self.width * self.upscale, self.height * self.upscale

    @property
    def resampling(self) -> str | None:
        """What resampled the crop (None: read pixel for pixel)."""
        return None if self.upscale == 1 else f"bicubic x{self.upscale}"

    def contains(self, x: float, y: float) -> bool:
        return self.x1 <= x <= self.x2 and self.y1 <= y <= self.y2


def _positive_size(w: float, h: float, what: str) -> None:
    if not (math.isfinite(w) and math.isfinite(h)) or w <= 0 or h <= 0:
        raise VisionInputError(f"{what} must be positive, got {w}x{h}")


def crop_size(
    screen_w: int,
    screen_h: int,
    *,
    fraction: float | None = None,
    size: tuple[float, float] | None = None,
    css: bool = False,
    scale: float = 1.0,
    factor: int | None = None,
) -> tuple[int, int]:
    """The crop's (w, h) in screenshot px: ``fraction`` of each side (0.25: a sixteenth of
    the area), or ``size`` (screenshot px; input units times ``scale`` when ``css``), capped
    by the screen; with ``factor``, the nearest whole number of grid cells (at least 2, at
    most what fits on the screen)."""
    _positive_size(screen_w, screen_h, "screen size")
    if (fraction is None) == (size is None):
        raise VisionInputError("a crop needs exactly one of fraction or size")
    if fraction is not None:
        if not (math.isfinite(fraction) and 0 < fraction <= 1):
            raise VisionInputError(f"crop fraction must be in (0, 1], got {fraction}")
        w, h = screen_w * fraction, screen_h * fraction
    else:
        assert size is not None
        _positive_size(size[0], size[1], "crop size")
        if not (math.isfinite(scale) and scale > 0):
            raise VisionInputError(f"device scale must be positive, got {scale}")
        k = scale if css else 1.0
        w, h = size[0] * k, size[1] * k
    cw = min(screen_w, max(1, round(w)))
    ch = min(screen_h, max(1, round(h)))
    if factor is not None:
        if factor < 2:
            raise VisionInputError(f"grid factor must be ≥ 2, got {factor}")
        cw, ch = _snap(cw, screen_w, factor), _snap(ch, screen_h, factor)
    return cw, ch


def _snap(side: int, screen: int, factor: int) -> int:
    """Nearest multiple of ``factor`` (≥ 2 cells) that fits on ``screen``; a screen side too
    small for that keeps the whole side (the model pads it)."""
    most = screen // factor * factor
    if most < 2 * factor:
        return screen
    return min(most, max(2 * factor, round(side / factor) * factor))


def crop_window(
    screen_w: int,
    screen_h: int,
    center: tuple[float, float],
    size: tuple[int, int],
    *,
    upscale: int = 1,
) -> Crop:
    """A ``size`` window centred on ``center`` (screenshot px), shifted inside the screen at
    its edges (never shrunk unless the screen is smaller than ``size``)."""
    _positive_size(screen_w, screen_h, "screen size")
    cx, cy = center
    if not (math.isfinite(cx) and math.isfinite(cy)):
        raise CoordinateError(f"crop centre ({cx}, {cy}) is not a finite point")
    if upscale not in UPSCALES:
        raise VisionInputError(f"upscale must be one of {UPSCALES}, got {upscale}")
    w, h = min(int(size[0]), screen_w), min(int(size[1]), screen_h)
    _positive_size(w, h, "crop size")
    x1 = min(max(math.floor(cx - w / 2 + 0.5), 0), screen_w - w)
    y1 = min(max(math.floor(cy - h / 2 + 0.5), 0), screen_h - h)
    return Crop(
        x1=x1, y1=y1, x2=x1 + w, y2=y1 + h, screen_w=screen_w, screen_h=screen_h, upscale=upscale
    )


def crop_to_screen(crop: Crop, u: float, v: float) -> tuple[float, float]:
    """A point in the crop's image (upscaled px when ``upscale`` is 2) → screenshot px."""
    if not (math.isfinite(u) and math.isfinite(v)):
        raise CoordinateError(f"crop point ({u}, {v}) is not a finite point")
    return crop.x1 + u / crop.upscale, crop.y1 + v / crop.upscale


def screen_to_crop(crop: Crop, x: float, y: float) -> tuple[float, float]:
    """Inverse of :func:`crop_to_screen`."""
    if not (math.isfinite(x) and math.isfinite(y)):
        raise CoordinateError(f"screen point ({x}, {y}) is not a finite point")
    return (x - crop.x1) * crop.upscale, (y - crop.y1) * crop.upscale


def crop_box_to_screen(
    crop: Crop, x1: float, y1: float, x2: float, y2: float
) -> tuple[float, float, float, float]:
    """A box in the crop's image → screenshot px."""
    ax, ay = crop_to_screen(crop, x1, y1)
    bx, by = crop_to_screen(crop, x2, y2)
    return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


def crop_pixels(array: np.ndarray, crop: Crop) -> np.ndarray:
    """The crop's image from an H×W×3 screenshot: the pixels themselves, or their bicubic ×2
    upscale (the only resampling, see :attr:`Crop.resampling`)."""
    if array.shape[1] != crop.screen_w or array.shape[0] != crop.screen_h:
        raise VisionInputError(
            f"the crop was planned for {crop.screen_w}x{crop.screen_h} but the screenshot is "
            f"{array.shape[1]}x{array.shape[0]}: plan it on this screenshot"
        )
    part = array[crop.y1 : crop.y2, crop.x1 : crop.x2]
    if crop.upscale == 1:
        return part
    from PIL import Image

    big = Image.fromarray(part).resize(crop.image_size, Image.Resampling.BICUBIC)
    return np.asarray(big)


def region_crop(
    screen_w: int,
    screen_h: int,
    region: tuple[float, ...],
    *,
    min_side: int = 1,
    upscale: int = 1,
) -> Crop:
    """A caller's ``region`` (screenshot px ``x1, y1, x2, y2``) as a :class:`Crop`: widened
    outward to whole px and clipped to the screen; a CoordinateError when it is not four
    finite numbers or keeps fewer than ``min_side`` px a side (``upscale``: as
    :func:`crop_window`)."""
    if upscale not in UPSCALES:
        raise VisionInputError(f"upscale must be one of {UPSCALES}, got {upscale}")
    if len(region) != 4 or not all(math.isfinite(v) for v in region):
        raise CoordinateError(f"region {region!r} is not four finite numbers x1, y1, x2, y2")
    x1, y1 = max(0, math.floor(region[0])), max(0, math.floor(region[1]))
    x2, y2 = min(screen_w, math.ceil(region[2])), min(screen_h, math.ceil(region[3]))
    if x2 - x1 < min_side or y2 - y1 < min_side:
        raise CoordinateError(
            f"region {region!r} holds no pixel of the {screen_w}x{screen_h} screen"
            if min_side <= 1
            else f"region {region!r} keeps less than {min_side} px a side of the screen"
        )
    return Crop(x1=x1, y1=y1, x2=x2, y2=y2, screen_w=screen_w, screen_h=screen_h, upscale=upscale)


def action_to_screen(crop: Crop, action: Action) -> Action:
    """An action answered on the crop's image (its points, boxes and regions in crop px)
    with every coordinate mapped back to screenshot px."""
    update: dict[str, Any] = {}
    for name in ("point", "start", "end"):
        p = getattr(action, name, None)
        if p is not None:
            update[name] = crop_to_screen(crop, p[0], p[1])
    for name in ("box", "region"):
        b = getattr(action, name, None)
        if b is not None:
            update[name] = crop_box_to_screen(crop, *b)
    return action.model_copy(update=update) if update else action


def crop_record(crop: Crop) -> dict[str, Any]:
    """What a step line records of a crop: the window (screenshot px), the image size the
    model read, the upscale and its resampling (None: pixel for pixel)."""
    return {
        "crop": [crop.x1, crop.y1, crop.x2, crop.y2],
        "size": list(crop.image_size),
        "scale": crop.upscale,
        "resampling": crop.resampling,
    }


def crop_observation(observation: Observation, crop: Crop) -> Observation:
    """The crop's (upscaled) image as an observation of its own, DSF-aware: its scale is the
    screen's times the upscale, its offset where the crop starts (input units); the pointer
    moves with it (None outside); the privacy snapshot, tied to the whole screen, is dropped."""
    s = observation.scale
    offset = observation.offset
    if observation.rotation == 0:
        offset = (offset[0] + crop.x1 / s, offset[1] + crop.y1 / s)
    pointer = observation.pointer
    if pointer is not None:
        pointer = screen_to_crop(crop, *pointer) if crop.contains(*pointer) else None
    return observation.copy(
        array=crop_pixels(observation.array, crop),
        size=None,
        scale=s * crop.upscale,
        offset=offset,
        pointer=pointer,
        privacy=None,
    )
