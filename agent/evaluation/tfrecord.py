"""Just enough TFRecord / protobuf to read the published AndroidControl and AITW files
without TensorFlow: GZIP'd TFRecord framing (with masked CRC-32C checks),
``tf.train.Example`` features, and android_env's ``AndroidAccessibilityForest``.

Writers exist too (small, for test fixtures and round trips). Wire format per
https://protobuf.dev/programming-guides/encoding/ ; the a11y field numbers follow
android_env/proto/a11y/*.proto.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from agent.core.errors import RecordingError

# ---- CRC-32C (Castagnoli), as TFRecord masks it -------------------------------------------


def _table() -> list[int]:
    out = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        out.append(c)
    return out


_CRC = _table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ---- TFRecord framing ---------------------------------------------------------------------


def read_records(path: str | Path, *, check_data: bool = False) -> Iterator[bytes]:
    """Records of a TFRecord file (GZIP detected by its magic). Length CRCs are always
    checked; data CRCs only with ``check_data`` (pure-Python CRC is slow on images)."""
    p = Path(path)
    with open(p, "rb") as raw:
        gz = raw.read(2) == b"\x1f\x8b"
    fh = gzip.open(p, "rb") if gz else open(p, "rb")  # noqa: SIM115
    with fh:
        n = 0
        while True:
            head = fh.read(12)
            if not head:
                return
            if len(head) < 12:
                raise RecordingError(f"{p}: truncated record header after {n} records")
            length, len_crc = struct.unpack("<QI", head)
            if masked_crc(head[:8]) != len_crc:
                raise RecordingError(f"{p}: record {n} has a corrupt length")
            data = fh.read(length)
            tail = fh.read(4)
            if len(data) < length or len(tail) < 4:
                raise RecordingError(f"{p}: record {n} is truncated")
            if check_data and masked_crc(data) != struct.unpack("<I", tail)[0]:
                raise RecordingError(f"{p}: record {n} fails its CRC")
            n += 1
            yield data


def write_records(path: str | Path, records: Iterable[bytes], *, compress: bool = True) -> None:
    p = Path(path)
    # mtime=0: the same records give the same bytes
    fh = gzip.GzipFile(p, "wb", mtime=0) if compress else open(p, "wb")  # noqa: SIM115
    with fh:
        for data in records:
            head = struct.pack("<Q", len(data))
            fh.write(head + struct.pack("<I", masked_crc(head)))
            fh.write(data + struct.pack("<I", masked_crc(data)))


# ---- protobuf wire format -----------------------------------------------------------------


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(buf):
            raise RecordingError("truncated protobuf varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7
        if shift > 70:
            raise RecordingError("protobuf varint too long")


def fields(buf: bytes) -> dict[int, list[Any]]:
    """field number → values (int for varint/fixed, bytes for length-delimited)."""
    out: dict[int, list[Any]] = {}
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        v: int | bytes
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v, i = buf[i : i + 8], i + 8
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = buf[i : i + n], i + n
        elif wt == 5:
            v, i = buf[i : i + 4], i + 4
        else:
            raise RecordingError(f"unsupported protobuf wire type {wt}")
        out.setdefault(num, []).append(v)
    return out


def _signed(v: int, bits: int = 64) -> int:
    return v - (1 << bits) if v >= 1 << (bits - 1) else v


def _packed_varints(values: list[Any]) -> list[int]:
    out: list[int] = []
    for v in values:
        if isinstance(v, int):
            out.append(_signed(v))
            continue
        i = 0
        while i < len(v):
            x, i = _varint(v, i)
            out.append(_signed(x))
    return out


def _enc_varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def enc_field(num: int, value: int | bytes | str) -> bytes:
    if isinstance(value, bool | int):
        return _enc_varint(num << 3) + _enc_varint(int(value))
    data = value.encode() if isinstance(value, str) else value
    return _enc_varint(num << 3 | 2) + _enc_varint(len(data)) + data


# ---- tf.train.Example -----------------------------------------------------------------------


def parse_example(buf: bytes) -> dict[str, list[Any]]:
    """``tf.train.Example`` → {feature name: list of bytes | float | int}."""
    out: dict[str, list[Any]] = {}
    for features in fields(buf).get(1, []):
        for entry in fields(features).get(1, []):
            e = fields(entry)
            name = e.get(1, [b""])[0].decode("utf-8")
            feature = fields(e.get(2, [b""])[0])
            if 1 in feature:  # BytesList
                out[name] = list(fields(feature[1][0]).get(1, []))
            elif 2 in feature:  # FloatList (packed or not)
                vals = fields(feature[2][0]).get(1, [])
                raw = b"".join(vals)
                out[name] = list(struct.unpack(f"<{len(raw) // 4}f", raw))
            elif 3 in feature:  # Int64List
                out[name] = _packed_varints(fields(feature[3][0]).get(1, []))
            else:
                out[name] = []
    return out


def encode_example(features: dict[str, list[Any]]) -> bytes:
    """{name: [bytes|str] | [float] | [int]} → ``tf.train.Example`` bytes (type by value;
    an empty list becomes an empty BytesList)."""
    entries = b""
    for name, values in features.items():
        if values and all(isinstance(v, float) for v in values):
            packed = struct.pack(f"<{len(values)}f", *values)
            feature = enc_field(2, enc_field(1, packed))
        elif values and all(isinstance(v, int) for v in values):
            packed = b"".join(_enc_varint(v) for v in values)
            feature = enc_field(3, enc_field(1, packed))
        else:
            body = b"".join(enc_field(1, v) for v in values)
            feature = enc_field(1, body)
        entries += enc_field(1, enc_field(1, name) + enc_field(2, feature))
    return enc_field(1, entries)


# ---- android_env AndroidAccessibilityForest --------------------------------------------------

_NODE_STR = {3: "class_name", 4: "content_description", 5: "hint_text", 6: "package_name",
             7: "text", 10: "view_id_resource_name", 31: "tooltip_text"}  # fmt: skip
_NODE_BOOL = {12: "is_checkable", 13: "is_checked", 14: "is_clickable", 15: "is_editable",
              16: "is_enabled", 17: "is_focusable", 18: "is_focused", 19: "is_long_clickable",
              20: "is_password", 21: "is_scrollable", 22: "is_selected",
              23: "is_visible_to_user"}  # fmt: skip
_RECT = ("left", "top", "right", "bottom")


def _rect(buf: bytes) -> list[int]:
    f = fields(buf)
    return [_signed(f.get(i + 1, [0])[0]) for i in range(4)]


def parse_forest(buf: bytes) -> list[dict[str, Any]]:
    """Every node of every window: names, flags, ``bounds`` [l, t, r, b] (screen px),
    ``depth`` and the window's ``layer``."""
    nodes: list[dict[str, Any]] = []
    for window in fields(buf).get(1, []):
        w = fields(window)
        layer = _signed(w.get(4, [0])[0])
        for tree in w.get(11, []):
            for raw in fields(tree).get(1, []):
                f = fields(raw)
                node: dict[str, Any] = {"layer": layer, "depth": f.get(27, [0])[0]}
                node["bounds"] = _rect(f[2][0]) if 2 in f else None
                for num, name in _NODE_STR.items():
                    node[name] = f[num][0].decode("utf-8", "replace") if num in f else ""
                for num, name in _NODE_BOOL.items():
                    node[name] = bool(f.get(num, [0])[0])
                nodes.append(node)
    return nodes


def encode_forest(windows: list[list[dict[str, Any]]]) -> bytes:
    """Inverse of :func:`parse_forest` for the fields it reads (test fixtures)."""
    out = b""
    for layer, nodes in enumerate(windows):
        tree = b""
        for n in nodes:
            body = b""
            if n.get("bounds"):
                rect = b"".join(enc_field(i + 1, v) for i, v in enumerate(n["bounds"]))
                body += enc_field(2, rect)
            for num, name in _NODE_STR.items():
                if n.get(name):
                    body += enc_field(num, n[name])
            for num, name in _NODE_BOOL.items():
                if n.get(name):
                    body += enc_field(num, 1)
            tree += enc_field(1, body)
        out += enc_field(1, enc_field(4, layer) + enc_field(11, tree))
    return out
