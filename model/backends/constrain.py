"""Constrained actions: the structured-output request that makes a server's sampler emit only
text the parser accepts (vLLM ``structured_outputs``; its xgrammar / guidance backends).

The constraint is the dialect's own grammar (:attr:`model.parsers.Dialect.grammar`, written in
:mod:`model.parsers.grammar`); a dialect without one refuses with a ConfigError. A user schema
(``action_schema``, a dict or a JSON file) replaces it, e.g. to allow only clicks inside a
region.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.core.coords import Frame
from agent.core.errors import ConfigError
from model.parsers import FORMATS, spec_for
from model.parsers.grammar import KEYS, MAX_STRING, qwen25_call_schema, screen_action_schema

__all__ = [
    "CONSTRAINED_FORMATS",
    "KEYS",
    "MAX_STRING",
    "load_schema",
    "qwen25_call_schema",
    "region_click_schema",
    "request_constraint",
    "screen_action_schema",
    "structured_outputs",
]

# the dialects that have a grammar (derived: the registry is the one source)
CONSTRAINED_FORMATS = frozenset(n for n, d in FORMATS.items() if d.grammar is not None)


def load_schema(value: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """A user's action schema: a dict, a JSON string, or the path of a JSON file."""
    if value is None or isinstance(value, dict):
        return value
    text = value
    if not value.lstrip().startswith("{"):
        path = Path(value).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(
                f"action_schema: cannot read {path} ({err}); give a JSON Schema file or object"
            ) from err
    try:
        schema = json.loads(text)
    except ValueError as err:
        raise ConfigError(f"action_schema is not valid JSON: {err}") from err
    if not isinstance(schema, dict):
        raise ConfigError("action_schema must be a JSON object (a JSON Schema)")
    return schema


def structured_outputs(
    fmt: str,
    frame: Frame,
    schema: dict[str, Any] | None = None,
    *,
    mobile: bool = False,
    grounding: bool = False,
) -> dict[str, Any]:
    """vLLM's ``structured_outputs`` field for one request in format ``fmt`` (``grounding``:
    the dialect's grounding answer, a box, instead of its action)."""
    if grounding and schema is None:
        box = spec_for(fmt).grounding_grammar
        if box is None:
            grounds = sorted(n for n, d in FORMATS.items() if d.grounding_grammar is not None)
            raise ConfigError(
                f"constrained grounding is available for the dialects {grounds}, not {fmt!r}: "
                "turn constrained off for this grounder"
            )
        return {"json": box(frame), "disable_any_whitespace": True}
    grammar = spec_for(fmt).grammar
    if grammar is None:
        raise ConfigError(
            f"constrained output is available for the formats {sorted(CONSTRAINED_FORMATS)}, "
            f'not {fmt!r}: set format = "json" or turn constrained off'
        )
    if schema is None:
        schema = grammar(frame, mobile)
    return {
        "json": schema,
        # no free whitespace, so a confused model cannot pad an answer forever; vLLM 0.32
        # reads this from the server (--structured-outputs-config), newer ones per request
        "disable_any_whitespace": True,
    }


CONSTRAINT_KINDS = ("json", "regex", "choice", "grammar")


def request_constraint(constraint: dict[str, Any]) -> dict[str, Any]:
    """A request's own constraint as vLLM's ``structured_outputs``: exactly one of
    ``json`` (a schema), ``regex``, ``choice`` (a list of strings) or ``grammar``."""
    kinds = [k for k in CONSTRAINT_KINDS if k in constraint]
    if len(kinds) != 1 or set(constraint) - {*CONSTRAINT_KINDS, "disable_any_whitespace"}:
        raise ConfigError(
            f"a request constraint holds exactly one of {list(CONSTRAINT_KINDS)}, "
            f"got keys {sorted(constraint)}"
        )
    choice = constraint.get("choice")
    if choice is not None and (
        not isinstance(choice, list) or not choice or not all(isinstance(c, str) for c in choice)
    ):
        raise ConfigError("a choice constraint is a non-empty list of strings")
    return {"disable_any_whitespace": True, **constraint}


def region_click_schema(x0: int, y0: int, x1: int, y1: int) -> dict[str, Any]:
    """A schema admitting only ``{"type":"click","point":[x,y]}`` inside a screenshot-px
    rectangle (edges included): for tests, demos and tasks that confine where to click."""
    if x1 < x0 or y1 < y0:
        raise ConfigError(f"region ({x0},{y0})-({x1},{y1}) is empty")
    return {
        "type": "object",
        "properties": {
            "type": {"const": "click"},
            "point": {
                "type": "array",
                "prefixItems": [
                    {"type": "integer", "minimum": int(x0), "maximum": int(x1)},
                    {"type": "integer", "minimum": int(y0), "maximum": int(y1)},
                ],
                "items": False,
                "minItems": 2,
                "maxItems": 2,
            },
        },
        "required": ["type", "point"],
        "additionalProperties": False,
    }
