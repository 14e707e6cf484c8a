"""Bounded recorded strings: no string in ``steps.jsonl`` or ``episode.json`` is longer
than its bound, whatever a model, a page or an env hands the recorder.

A string over its bound is cut to the bound (a prefix and a marker naming the whole text's
file) and the whole text is written once, as UTF-8, to ``attachments/<hash>.txt`` in the
episode folder (the name is the first 32 hex digits of its SHA-256, so a text that recurs —
the same runaway answer in every retry — is one file). The record names its attachments in
its own ``attachments`` object, keyed by the cut string's JSON pointer (RFC 6901)::

    "raw": "AAAA…[cut at 16384 of 52428800 chars; whole text: attachments/3f2a….txt]",
    "attachments": {"/raw": {"file": "attachments/3f2a….txt", "chars": 52428800,
                             "bytes": 52428800, "sha256": "3f2a…"}}

Bounds (characters; :data:`LIMITS` by the string's key, :data:`DEFAULT_LIMIT` otherwise):
16 KiB for model output and what a model writes (``raw``, ``thought``, typed ``text``,
``answer``, ``question``, the task's ``goal``), 2 KiB for ``url`` / ``href`` / ``title`` /
``app``, 4 KiB for anything else (error texts, dialog texts, reasons). A record still over
:data:`MAX_LINE_BYTES` after that (fifty actions of long text) has every string cut further,
down to :data:`FLOOR` characters, until it fits.

Readers that need the whole value (replay, resume, export, metrics) get it back from
:func:`resolve` (``load_episode`` does it by default); the viewer shows the cut string. An
attachment is checked before it is used: its name must be one this module writes, its size
and SHA-256 must be those recorded, so a tampered recording is a RecordingError, never a
read outside the episode folder.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.core.errors import RecordingError

KIB = 1024
LIMITS: dict[str, int] = {
    **dict.fromkeys(("raw", "thought", "text", "answer", "question", "goal"), 16 * KIB),
    **dict.fromkeys(("url", "href", "title", "app"), 2 * KIB),
}
DEFAULT_LIMIT = 4 * KIB
MAX_LINE_BYTES = 256 * KIB  # one step line (or episode.json) after bounding
FLOOR = 256  # the shortest a string is cut to when a record is still too large
ATTACHMENTS = "attachments"  # the folder, and the record's key naming what went there
MAX_ATTACHMENT_BYTES = 1024 * KIB * KIB  # a reader refuses a larger attachment
_NAME = re.compile(r"attachments/[0-9a-f]{32}\.txt")
MAX_DEPTH = 64  # deeper values are left as they are (a recording of ours nests ~6 deep)

Spill = Callable[[str], dict[str, Any]]  # the whole text → its reference (file, size, hash)


def attachment_bytes(text: str) -> bytes:
    """The bytes an attachment holds: UTF-8 (a lone surrogate kept as its code point)."""
    return text.encode("utf-8", "surrogatepass")


def attachment_name(data: bytes) -> tuple[str, str]:
    """(relative file name, full SHA-256 hex) of an attachment's bytes."""
    digest = hashlib.sha256(data).hexdigest()
    return f"{ATTACHMENTS}/{digest[:32]}.txt", digest


def marker(chars: int, limit: int, file: str | None) -> str:
    where = f"whole text: {file}" if file else "whole text not written"
    return f"…[cut at {limit} of {chars} chars; {where}]"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def _size(obj: Any) -> int:
    text = json.dumps(obj, default=str, ensure_ascii=False)
    return len(text.encode("utf-8", "surrogatepass"))


class _Walk:
    def __init__(self, spill: Spill, cap: int | None) -> None:
        self.spill, self.cap = spill, cap
        self.refs: dict[str, dict[str, Any]] = {}

    def value(self, v: Any, pointer: str, key: str | None, depth: int) -> Any:
        if isinstance(v, str):
            return self.text(v, pointer, key)
        if depth >= MAX_DEPTH:
            return v
        if isinstance(v, dict):
            return {k: self.value(x, f"{pointer}/{_escape(str(k))}", str(k), depth + 1)
                    for k, x in v.items()}  # fmt: skip
        if isinstance(v, (list, tuple)):
            return [self.value(x, f"{pointer}/{n}", key, depth + 1) for n, x in enumerate(v)]
        return v

    def text(self, v: str, pointer: str, key: str | None) -> str:
        limit = LIMITS.get(key or "", DEFAULT_LIMIT)
        if self.cap is not None:
            limit = min(limit, self.cap)
        if len(v) <= limit:
            return v
        ref = self.spill(v)
        self.refs[pointer] = ref
        mark = marker(len(v), limit, ref.get("file"))
        return v[: max(0, limit - len(mark))] + mark


def bound(record: dict[str, Any], spill: Spill) -> dict[str, Any]:
    """``record`` with every string within its bound; each cut string's whole text goes to
    ``spill`` (which writes the attachment and returns its reference) and the references to
    the record's ``attachments``. A record within every bound comes back unchanged."""
    given = record.get(ATTACHMENTS)
    known: dict[str, Any] = given if isinstance(given, dict) else {}
    body = {k: v for k, v in record.items() if k != ATTACHMENTS}
    cap: int | None = None
    while True:
        walk = _Walk(spill, cap)
        out: dict[str, Any] = walk.value(body, "", None, 0)
        if known or walk.refs:
            out[ATTACHMENTS] = {**known, **walk.refs}
        if cap == FLOOR or _size(out) <= MAX_LINE_BYTES:
            return out
        cap = max(FLOOR, (cap or DEFAULT_LIMIT) // 4)


# ---- reading ---------------------------------------------------------------------------------


def read_attachment(directory: Path, ref: Any, where: str = "") -> str:
    """The whole text a reference names, checked: a name this module writes, inside
    ``directory``, of the recorded size and SHA-256 (RecordingError otherwise)."""
    if not isinstance(ref, dict) or not isinstance(ref.get("file"), str):
        raise RecordingError(f"{directory}{where}: an attachment reference without a file")
    name = ref["file"]
    if not _NAME.fullmatch(name):
        raise RecordingError(f"{directory}{where}: {name!r:.80} is not an attachment name")
    path = directory / name
    try:
        size = path.stat().st_size
        if size > MAX_ATTACHMENT_BYTES or size != ref.get("bytes", size):
            raise RecordingError(
                f"{path}: {size} bytes, recorded as {ref.get('bytes')} (at most "
                f"{MAX_ATTACHMENT_BYTES}): the attachment was changed"
            )
        data = path.read_bytes()
    except OSError as err:
        raise RecordingError(
            f"{path}{where} is missing or unreadable ({err.strerror}): the recorded text is "
            "cut; restore the episode's attachments folder"
        ) from err
    if hashlib.sha256(data).hexdigest() != ref.get("sha256"):
        raise RecordingError(f"{path}: its SHA-256 is not the recorded one (it was changed)")
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace")


def _place(obj: Any, pointer: str, text: str, where: str) -> None:
    parts = [_unescape(p) for p in pointer.split("/")[1:]] if pointer.startswith("/") else []
    node = obj
    try:
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        last = parts[-1]
        index: Any = int(last) if isinstance(node, list) else last
        if not isinstance(node[index], str):
            raise TypeError
        node[index] = text
    except (LookupError, TypeError, ValueError) as err:
        raise RecordingError(f"{where}: attachment {pointer!r:.80} names no recorded text") from err


def resolve(record: Any, directory: Path, where: str = "") -> Any:
    """``record`` with each cut string restored from its attachment and no ``attachments``
    key (as if it had never been cut); a record without attachments comes back as is."""
    if not isinstance(record, dict) or ATTACHMENTS not in record:
        return record
    refs = record[ATTACHMENTS]
    out = json.loads(json.dumps({k: v for k, v in record.items() if k != ATTACHMENTS}))
    if not isinstance(refs, dict):
        raise RecordingError(f"{where}: 'attachments' is not an object")
    for pointer, ref in refs.items():
        _place(out, str(pointer), read_attachment(directory, ref, where), where)
    return out
