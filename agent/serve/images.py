"""Images of an ``agent serve`` request: checked from their headers, under one budget,
before anything is decoded; then planned as model input by the same Frame rules as
in-process.

* Only PNG, JPEG and WebP are ever decoded (``IMAGE_FORMATS``): PIL reads dozens of
  formats, and some cost minutes for a kilobyte (a 1 KiB TIFF took 68 s).
* Each image's pixel count is read from its header and refused above ``max_image_pixels``;
  all images of a request together are refused above ``max_request_pixels``.
* ``min_pixels`` / ``max_pixels`` of a request can only **lower** the server's own budget:
  a ``min_pixels`` above the server's is refused (it would upsample a small image far above
  its native size: a 2 KB request planning a 40 MP input), and a ``max_pixels`` above the
  server's token cap is clamped to it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

from agent.core.coords import DEFAULT_MAX_TOKENS, FACTOR, MIN_PIXELS, Frame
from agent.core.errors import VisionInputError
from agent.core.observation import Observation
from agent.serve.limits import IMAGE_FORMATS, MAX_IMAGE_PIXELS, MAX_REQUEST_PIXELS
from model.backends.images import PNG_MAGIC, decode_data_url, to_png
from model.prompts import image_part


class BadRequest(Exception):
    """A request refused with an HTTP status (4xx) and a message that names the limit."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Budget:
    """The server's own pixel budget for model input, on the model's vision grid (28, or
    32 for Qwen3-VL: pixels per image token along a side)."""

    min_pixels: int
    max_tokens: int
    grid: int = FACTOR

    def narrowed(self, min_pixels: Any, max_pixels: Any) -> Budget:
        """The budget a request asks for, which may only be lower than the server's."""
        for name, v in (("min_pixels", min_pixels), ("max_pixels", max_pixels)):
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v <= 0):
                raise BadRequest(f"{name} must be a positive integer, got {v!r}")
        if min_pixels is not None and min_pixels > self.min_pixels:
            raise BadRequest(
                f"min_pixels {min_pixels} is above this server's {self.min_pixels}: a request "
                "may only lower the pixel budget, never enlarge an image beyond its size"
            )
        tokens = self.max_tokens
        if max_pixels is not None:
            tokens = min(tokens, max(4, max_pixels // self.grid**2))
        lowest = min_pixels if min_pixels is not None else self.min_pixels
        return Budget(lowest, tokens, self.grid)


def server_budget(
    max_tokens: int | None, min_pixels: int | None = None, grid: int | None = None
) -> Budget:
    """The model's own budget (its processor's bounds), or the Qwen2-VL defaults."""
    return Budget(min_pixels or MIN_PIXELS, max_tokens or DEFAULT_MAX_TOKENS, grid or FACTOR)


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the image header only — nothing is decoded. PNG, JPEG and WebP
    only; anything else is a 400."""
    if data.startswith(PNG_MAGIC):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise VisionInputError("PNG without a valid IHDR header")
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    try:
        with Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS)) as im:  # header only
            return im.size
    except Image.DecompressionBombError as err:  # PIL's own guard, above 2 × its limit
        raise BadRequest(f"image refused as a decompression bomb: {err}", 413) from err
    except Exception as err:  # PIL raises several types for garbage
        raise VisionInputError(
            f"image is not a PNG, JPEG or WebP ({', '.join(IMAGE_FORMATS)} are accepted): {err}"
        ) from err


def decoded(data: bytes, size: tuple[int, int]) -> Observation:
    """Decode an image whose header was checked (a corrupt body is a 400 now, not an error
    inside generation)."""
    obs = Observation(png=to_png(data))
    try:
        arr = obs.array
    except Exception as err:  # truncated or corrupt data behind a valid header
        raise VisionInputError(f"image data is corrupt: {type(err).__name__}: {err}") from err
    if (arr.shape[1], arr.shape[0]) != size:
        raise VisionInputError("image header and data disagree about its size")
    return obs


def checked_size(data: bytes, max_image_pixels: int) -> tuple[int, int]:
    w, h = image_size(data)
    if w <= 0 or h <= 0 or w * h > max_image_pixels:
        raise BadRequest(
            f"image of {w}x{h} px exceeds this server's limit of {max_image_pixels} pixels",
            413,
        )
    return w, h


def image_parts(
    urls: list[str],
    *,
    budget: Budget,
    input_mode: Any,
    convention: Any,
    max_image_pixels: int = MAX_IMAGE_PIXELS,
    max_request_pixels: int = MAX_REQUEST_PIXELS,
) -> list[dict[str, Any]]:
    """Every image of a request as a message part: all headers are read and the request's
    pixel budget checked before the first image is decoded."""
    try:
        datas = [decode_data_url(u) for u in urls]
        sizes = [checked_size(d, max_image_pixels) for d in datas]
        total = sum(w * h for w, h in sizes)
        if total > max_request_pixels:
            raise BadRequest(
                f"the request's images hold {total} pixels in all, above this server's "
                f"limit of {max_request_pixels}",
                413,
            )
        parts = []
        for data, (w, h) in zip(datas, sizes, strict=True):
            obs = decoded(data, (w, h))
            frame = Frame.for_screen(
                w,
                h,
                mode=input_mode,
                max_tokens=budget.max_tokens,
                convention=convention or "norm1000",
                min_pixels=budget.min_pixels,
                factor=budget.grid,
            )
            parts.append(image_part(obs, frame))
        return parts
    except VisionInputError as err:
        raise BadRequest(f"bad image: {err}") from err
