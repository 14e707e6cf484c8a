"""Secrets: values the env types but the model, the recordings and the logs never see.

``--secret NAME=VALUE`` (or ``NATIVE_AGENT_SECRET_NAME=VALUE`` in the environment) makes the
placeholder ``{{secret:NAME}}`` available. The model is told the placeholder, never the value;
when a ``type`` action's text contains it, the env types the real value (the action recorded
keeps the placeholder). Every string written — step lines, episode.json, progress lines, log
records, error messages — is scrubbed: a value in any spelling (raw, percent-encoded in either
hex case, ``+`` for space, JSON/JS-escaped, HTML references, mixed; see agent.safety.encodings)
becomes its placeholder again, so a model that reads a value off the screen cannot leak it
either; a prefix of 4+ characters left where a string was cut is scrubbed too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from agent.core.actions import Action, Type
from agent.core.errors import CUT_MARK, ActionFailedError, ConfigError, NativeAgentError
from agent.safety.encodings import cut_end_pattern, value_pattern

ENV_PREFIX = "NATIVE_AGENT_SECRET_"
PIXEL_CHECK_ENV = "NATIVE_AGENT_PIXEL_CHECK"  # "0" / "off": masking is not verified by OCR
MIN_LENGTH = 3  # shorter values would scrub half of every recording
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
PLACEHOLDER = re.compile(r"\{\{\s*secret\s*:\s*([A-Za-z_][A-Za-z0-9_.-]{0,63})\s*\}\}")


def placeholder(name: str) -> str:
    return "{{secret:" + name + "}}"


class Secrets:
    """Named secret values; look-ups by name are case-insensitive. ``pixel_check``: masking
    verifies each image by OCR before it leaves (agent.safety.pixelcheck); off only on
    request (``NATIVE_AGENT_PIXEL_CHECK=0``), e.g. where OCR is too slow."""

    def __init__(
        self, values: Mapping[str, str] | None = None, *, pixel_check: bool = True
    ) -> None:
        self.pixel_check = pixel_check
        self._values: dict[str, str] = {}
        self._names: dict[str, str] = {}  # folded name → name as given
        self._forms: list[tuple[re.Pattern[str], re.Pattern[str] | None, str]] | None = None
        for name, value in (values or {}).items():
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        if not _NAME.match(name):
            raise ConfigError(
                f"bad secret name {name!r}: use letters, digits, _ . - (e.g. --secret password=…)"
            )
        if len(value) < MIN_LENGTH:
            raise ConfigError(
                f"secret {name!r} is shorter than {MIN_LENGTH} characters; such a value cannot "
                "be scrubbed from recordings without destroying them"
            )
        if name.casefold() in self._names:
            self._values.pop(self._names[name.casefold()])
        self._names[name.casefold()] = name
        self._values[name] = value
        self._forms = None

    @classmethod
    def from_sources(
        cls, pairs: list[str] | None = None, environ: Mapping[str, str] | None = None
    ) -> Secrets:
        """``NAME=VALUE`` pairs (``--secret``) over ``NATIVE_AGENT_SECRET_NAME`` env vars."""
        env = os.environ if environ is None else environ
        check = env.get(PIXEL_CHECK_ENV, "1").strip().lower()
        if check not in ("1", "0", "on", "off", "true", "false", "yes", "no", ""):
            raise ConfigError(f"{PIXEL_CHECK_ENV} must be 1 or 0 (on/off), got {check!r}")
        out = cls(pixel_check=check not in ("0", "off", "false", "no"))
        for key, value in env.items():
            if key.startswith(ENV_PREFIX) and len(key) > len(ENV_PREFIX):
                out.add(key[len(ENV_PREFIX) :].lower(), value)
        for pair in pairs or []:
            name, sep, value = pair.partition("=")
            if not sep or not name.strip():
                raise ConfigError(f"--secret expects NAME=VALUE, got {pair.split('=')[0]!r}=…")
            out.add(name.strip(), value)
        return out

    def __bool__(self) -> bool:
        return bool(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def names(self) -> list[str]:
        return list(self._values)

    @property
    def values(self) -> list[str]:
        return list(self._values.values())

    def value(self, name: str) -> str:
        key = self._names.get(name.casefold())
        if key is None:
            known = ", ".join(placeholder(n) for n in self._values) or "none"
            raise ActionFailedError(f"unknown secret {placeholder(name)} (known: {known})")
        return self._values[key]

    # ---- the model side --------------------------------------------------------------------
    def prompt_note(self) -> str:
        """What the model is told: the placeholders, never the values."""
        if not self._values:
            return ""
        listed = ", ".join(placeholder(n) for n in self._values)
        return (
            f"\n\nSecret values are hidden from you. To enter one, type its placeholder exactly "
            f"as written ({listed}); it is replaced by the real value when typed."
        )

    def resolve(self, text: str) -> str:
        """Placeholders → values (for the env only); an unknown name is an action error."""
        return PLACEHOLDER.sub(lambda m: self.value(m.group(1)), text)

    def inject(self, action: Action) -> Action:
        """The action the env executes: a ``type`` with placeholders gets the real values."""
        if isinstance(action, Type) and PLACEHOLDER.search(action.text):
            return action.model_copy(update={"text": self.resolve(action.text)})
        return action

    # ---- the recording side ------------------------------------------------------------------
    def _patterns(self) -> list[tuple[re.Pattern[str], re.Pattern[str] | None, str]]:
        """(whole value, cut end, placeholder) per secret, the longest value first: each
        character in every spelling a browser, server or serialiser writes
        (:mod:`agent.safety.encodings`)."""
        if self._forms is None:
            ordered = sorted(self._values.items(), key=lambda kv: -len(kv[1]))
            self._forms = [
                (value_pattern(v), cut_end_pattern(v), placeholder(n)) for n, v in ordered
            ]
        return self._forms

    def scrub_text(self, text: str) -> str:
        """Every spelling of every value → its placeholder; then a value's prefix (≥ 4
        characters) left before a cut mark (``…`` or ``...``) → the placeholder too, for
        text some code cut before it reached here (agent.core.errors.cut)."""
        if not self._values:
            return text
        for whole, _, ph in self._patterns():
            text = whole.sub(ph, text)
        for _, end, ph in self._patterns():
            if end is not None:
                text = end.sub(ph, text)
        return text

    def clip(self, text: str, limit: int) -> str:
        """Scrub, then cut to ``limit`` characters (``…`` marks a cut), then scrub the cut end:
        the order that leaves no part of a value behind. A placeholder is never cut in two."""
        text = self.scrub_text(text)
        if len(text) <= limit:
            return text
        end = max(0, limit - 1)
        inside = next((m for m in PLACEHOLDER.finditer(text) if m.start() < end < m.end()), None)
        return self.scrub_text(text[: inside.start() if inside else end] + CUT_MARK)

    def scrub(self, obj: Any) -> Any:
        """A copy of a JSON-like object with every string (keys too) scrubbed."""
        if not self._values:
            return obj
        if isinstance(obj, str):
            return self.scrub_text(obj)
        if isinstance(obj, dict):
            return {self.scrub(k): self.scrub(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.scrub(v) for v in obj]
        return obj

    def leaks(self, data: bytes) -> list[str]:
        """Names of the secrets whose value (any scrubbed form) occurs in ``data``."""
        text = data.decode("utf-8", "replace")
        found = {ph for whole, _, ph in self._patterns() if whole.search(text)}
        return [name for name in self._values if placeholder(name) in found]

    @contextlib.contextmanager
    def redact_logs(self) -> Iterator[None]:
        """Scrub every log record created while active (message and arguments)."""
        if not self._values:
            yield
            return
        old = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = old(*args, **kwargs)
            try:
                message = record.getMessage()
            except Exception:  # a broken format string: keep the raw parts, scrubbed
                message = f"{record.msg} {record.args}"
            record.msg, record.args = self.scrub_text(message), None
            return record

        logging.setLogRecordFactory(factory)
        try:
            yield
        finally:
            logging.setLogRecordFactory(old)

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """For a command's whole run: log records are scrubbed, and so is an error of ours
        on its way out (the CLI prints its message)."""
        with self.redact_logs():
            try:
                yield
            except NativeAgentError as err:
                err.args = tuple(self.scrub(list(err.args)))
                raise

    def describe(self) -> dict[str, Any]:
        """For episode.json: the names only."""
        return {"names": self.names}


_FORM_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*-._")


def _form_urlencoded(value: str) -> str:
    """WHATWG application/x-www-form-urlencoded (what a browser's form post and
    ``URLSearchParams`` write): space as ``+``, all but ``*-._`` and alphanumerics escaped."""
    out = []
    for ch in value:
        if ch == " ":
            out.append("+")
        elif ch in _FORM_SAFE:
            out.append(ch)
        else:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
    return "".join(out)


def encoded_forms(value: str) -> list[str]:
    """The URL-encoded spellings of ``value`` a recording can hold: Python's ``quote`` and
    ``quote_plus``, JavaScript's ``encodeURIComponent`` and ``encodeURI``, the form
    encoding browsers use, each also with lower-case hex digits."""
    forms = [
        quote(value, safe=""),
        quote_plus(value, safe=""),
        quote(value, safe="!*'()"),  # encodeURIComponent
        quote(value, safe="!*'();/?:@&=+$,#"),  # encodeURI
        _form_urlencoded(value),
    ]
    lower = [re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in forms]
    return [f for f in dict.fromkeys(forms + lower) if f != value]
