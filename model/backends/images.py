"""Model images as lossless PNG (for OpenAI-compatible servers) and back.

The PNG sent is the model input itself (padded, or smart-resized where the format needs
it), so a server that is told not to resample (min/max pixels) sees exactly the pixels the
in-process backend would see.
"""

from __future__ import annotations

import base64
import binascii
import io
import time
import weakref
from collections.abc import Iterable

import numpy as np
from PIL import Image, UnidentifiedImageError

from agent.core.errors import VisionInputError
from agent.core.observation import Observation
from model.prompts import ImagePart

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def model_array(part: ImagePart) -> np.ndarray:
    """The H×W×3 uint8 model input of an image part (padded / resized per its Frame)."""
    from model.vision import to_model_image

    return to_model_image(part.observation.array, part.frame)


def model_png(part: ImagePart) -> bytes:
    """PNG of the model input; the screenshot's own PNG when it already is the model input
    (sides multiples of 28, nothing resampled), so nothing is re-encoded."""
    obs, frame = part.observation, part.frame
    if obs.has_png and (frame.input_w, frame.input_h) == obs.size and not frame.resampled:
        return obs.png
    buf = io.BytesIO()
    Image.fromarray(model_array(part)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def png_data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


class ImageCache:
    """Data URLs of model images, each made once and reused while its screenshot stays in
    the history window: a request holding the current screenshot and two history images
    encodes one PNG, not three (the history ones were encoded when they were current).

    Keyed on the Observation object (held weakly, so a screenshot the loop dropped is not
    kept alive) and the Frame's input plan; after each request only the images it used are
    kept, so the cache never outgrows the window.
    """

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[Observation], tuple[object, ...], str]] = {}
        self.encodes = 0  # PNG encodes so far (tests and benchmarks read it)
        self.encode_s = 0.0

    @staticmethod
    def _plan(part: ImagePart) -> tuple[object, ...]:
        f = part.frame
        return (f.mode, f.input_w, f.input_h, f.resampled, f.screen_w, f.screen_h)

    def data_urls(self, parts: Iterable[ImagePart]) -> list[str]:
        """The data URL of every part, in order; entries of images not in ``parts`` go."""
        urls: list[str] = []
        used: set[int] = set()
        for part in parts:
            key, plan = id(part.observation), self._plan(part)
            hit = self._entries.get(key)
            if hit is not None and hit[0]() is part.observation and hit[1] == plan:
                url = hit[2]
            else:
                t0 = time.perf_counter()
                url = png_data_url(model_png(part))
                self.encode_s += time.perf_counter() - t0
                self.encodes += 1
                self._entries[key] = (weakref.ref(part.observation), plan, url)
            used.add(key)
            urls.append(url)
        for key in [k for k in self._entries if k not in used]:
            del self._entries[key]
        return urls

    def __len__(self) -> int:
        return len(self._entries)


def decode_data_url(url: str) -> bytes:
    """Image bytes of a ``data:image/...;base64,`` URL (PNG or any format PIL reads)."""
    if not url.startswith("data:"):
        raise VisionInputError(
            "only data: URLs are accepted for images (the server fetches nothing); "
            f"got {url[:40]!r}"
        )
    header, sep, payload = url.partition(",")
    if not sep or ";base64" not in header:
        raise VisionInputError("image data URL must be base64: data:image/png;base64,...")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as err:
        raise VisionInputError(f"image data URL is not valid base64: {err}") from err


def to_png(data: bytes) -> bytes:
    """PNG bytes as-is; any other image format PIL reads converted (lossless from here)."""
    if data.startswith(PNG_MAGIC):
        return data
    try:
        with Image.open(io.BytesIO(data)) as im:
            buf = io.BytesIO()
            im.convert("RGB").save(buf, format="PNG", compress_level=1)
            return buf.getvalue()
    except (UnidentifiedImageError, OSError) as err:
        raise VisionInputError(f"image is not a readable PNG/JPEG/WebP: {err}") from err
