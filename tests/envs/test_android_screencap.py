"""Raw ``screencap`` decoding (pure): against Pillow as the oracle for every pixel format a
device may send, on generated screens."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from agent.core.errors import EnvError
from envs.android.screencap import decode_screencap, encode_screencap


def _screens() -> st.SearchStrategy[np.ndarray]:
    return st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1)).map(
        lambda t: np.random.default_rng(t[2]).integers(0, 256, (t[1], t[0], 3), np.uint8)
    )


def _header(w: int, h: int, fmt: int, dataspace: bool) -> bytes:
    head = w.to_bytes(4, "little") + h.to_bytes(4, "little") + fmt.to_bytes(4, "little")
    return head + ((0).to_bytes(4, "little") if dataspace else b"")


@settings(max_examples=60, deadline=None)
@given(_screens(), st.booleans())
def test_rgba_and_rgbx_decode_to_pillows_rgb(rgb: np.ndarray, dataspace: bool) -> None:
    raw = encode_screencap(rgb, dataspace=dataspace)
    assert np.array_equal(decode_screencap(raw), rgb)
    h, w = rgb.shape[:2]
    rgba = np.asarray(Image.fromarray(rgb).convert("RGBA"))
    rgbx = _header(w, h, 2, dataspace) + rgba.tobytes()  # RGBX_8888: X ignored like alpha
    oracle = np.asarray(Image.frombytes("RGBA", (w, h), rgba.tobytes()).convert("RGB"))
    assert np.array_equal(decode_screencap(rgbx), oracle)


@settings(max_examples=40, deadline=None)
@given(_screens())
def test_rgb888_and_rgb565_decode_like_pillow(rgb: np.ndarray) -> None:
    h, w = rgb.shape[:2]
    assert np.array_equal(decode_screencap(_header(w, h, 3, True) + rgb.tobytes()), rgb)
    r, g, b = (rgb[..., i].astype(np.uint16) for i in range(3))
    v = ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3)
    raw = _header(w, h, 4, True) + v.astype("<u2").tobytes()
    oracle = Image.frombytes("RGB", (w, h), v.astype("<u2").tobytes(), "raw", "BGR;16")
    # channels and bits as Pillow reads them; 5/6 → 8 bits by bit replication (Skia's
    # SkR16ToR32, what the device's own PNG holds) where Pillow rounds x*255/31: ≤ 1 apart
    got = decode_screencap(raw).astype(int)
    assert np.abs(got - np.asarray(oracle).astype(int)).max() <= 1
    assert np.array_equal(got[..., 0] >> 3, rgb[..., 0] >> 3)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"screencap: unknown option\n",
        _header(10, 10, 1, True) + b"\0" * 399,  # one byte short
        _header(10, 10, 9, True) + b"\0" * 400,  # unknown format
        _header(0, 10, 1, True),
    ],
)
def test_what_is_not_a_raw_screen_is_a_typed_error(raw: bytes) -> None:
    with pytest.raises(EnvError, match="screencap"):
        decode_screencap(raw)
