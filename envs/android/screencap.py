"""Pure decoding of ``screencap`` output without ``-p``: a small header and the raw pixels,
so the device never encodes a PNG on the hot path.

Layout (AOSP ``cmds/screencap``): width, height and pixel format as little-endian uint32,
then (Android 9+) a uint32 dataspace, then ``height`` rows of ``width`` pixels, written row
by row without stride padding. Formats: 1 RGBA_8888, 2 RGBX_8888, 3 RGB_888, 4 RGB_565.
"""

from __future__ import annotations

import numpy as np

from agent.core.errors import EnvError

BYTES_PER_PIXEL = {1: 4, 2: 4, 3: 3, 4: 2}


def decode_screencap(raw: bytes) -> np.ndarray:
    """Raw screencap bytes → H×W×3 uint8 RGB; EnvError when they are not a screencap."""
    if len(raw) < 12:
        raise EnvError(f"screencap gave {len(raw)} bytes, not a raw screen: {raw[:80]!r}")
    w, h, fmt = (int.from_bytes(raw[i : i + 4], "little") for i in (0, 4, 8))
    bpp = BYTES_PER_PIXEL.get(fmt)
    if bpp is None or not (0 < w <= 16384 and 0 < h <= 16384):
        raise EnvError(f"screencap header {w}x{h} format {fmt} is not a raw screen")
    body = w * h * bpp
    header = next((n for n in (16, 12) if len(raw) == n + body), None)
    if header is None:
        raise EnvError(f"screencap gave {len(raw)} bytes for {w}x{h}x{bpp} (+12/16 header)")
    px = np.frombuffer(raw, np.uint8, count=body, offset=header)
    if bpp == 4:
        return np.ascontiguousarray(px.reshape(h, w, 4)[:, :, :3])
    if bpp == 3:
        return px.reshape(h, w, 3).copy()
    v = px.view("<u2").reshape(h, w).astype(np.uint16)  # RGB_565: rrrrrggg gggbbbbb
    r, g, b = (v >> 11) & 0x1F, (v >> 5) & 0x3F, v & 0x1F
    out = np.empty((h, w, 3), np.uint8)
    out[..., 0] = (r << 3) | (r >> 2)
    out[..., 1] = (g << 2) | (g >> 4)
    out[..., 2] = (b << 3) | (b >> 2)
    return out


def encode_screencap(rgb: np.ndarray, *, dataspace: bool = True) -> bytes:
    """The inverse for RGBA_8888 (alpha 255): what a device sends, for the fake adb server."""
    h, w = rgb.shape[:2]
    rgba = np.full((h, w, 4), 255, np.uint8)
    rgba[..., :3] = rgb[..., :3]
    head = w.to_bytes(4, "little") + h.to_bytes(4, "little") + (1).to_bytes(4, "little")
    if dataspace:
        head += (0).to_bytes(4, "little")
    return head + rgba.tobytes()
