"""Model images as lossless PNG (for OpenAI-compatible servers) and back.

The PNG sent is the model input itself (padded, or smart-resized where the format needs
it), so a server that is told not to resample (min/max pixels) sees exactly the pixels the
in-process backend would see.
"""

from __future__ import annotations

import base64
import binascii
import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from agent.core.errors import VisionInputError
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
