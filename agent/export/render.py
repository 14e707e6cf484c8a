"""Actions → model text in each output dialect, and the round-trip check.

Rendering is each dialect's own (:attr:`model.parsers.Dialect.render`, written in
:mod:`model.parsers.render`); this module picks the dialect by name for the exporter and
checks that parsing the rendered text gives the recorded action back (:func:`same_action`),
ignoring the fields a dialect drops (its ``lossy`` set, e.g. UI-TARS's fixed ``wait()``).
"""

from __future__ import annotations

from typing import Any

from agent.core.actions import Action, dump_action, parse_action
from agent.core.coords import Frame, model_to_screen
from agent.core.errors import NativeAgentError
from model.backends.stopping import action_complete, cut_at_stop
from model.parsers import FORMATS, parse, spec_for
from model.parsers.render import DECIMALS, RenderOpts, UnsupportedAction

__all__ = [
    "DIALECTS",
    "UnsupportedAction",
    "drops_clear",
    "inference_cut",
    "quantum",
    "reachable",
    "render",
    "same_action",
    "tolerance",
    "turns",
]

DIALECTS = FORMATS  # every output dialect can be rendered


def render(
    actions: list[Action],
    frame: Frame,
    fmt: str,
    *,
    thought: str | None = None,
    action_space: str = "computer",
    precise: bool = False,
) -> str:
    """The model text for ``actions`` (screenshot px) in ``fmt``, for a model that saw
    ``frame`` (its convention and input size decide the numbers)."""
    if not actions:
        raise UnsupportedAction("nothing to render: the step has no action")
    dialect = spec_for(fmt)  # unknown → ConfigError listing the known ones
    frame = frame.with_convention(dialect.convention, dialect.coords.divisor)
    return dialect.render(actions, frame, RenderOpts(thought, action_space, precise))


# ---- the round trip ---------------------------------------------------------------------------


def quantum(frame: Frame) -> float:
    """Screenshot px between two neighbouring values the model writes (the larger axis), via
    the coordinate module: integers of 0-1000 over a 1932 px wide input are 1.93 px apart,
    so a point can only come back within half that."""
    unit = 10.0 ** -DECIMALS.get(frame.convention, 0)
    x0, y0 = model_to_screen(frame, 0.0, 0.0)
    x1, y1 = model_to_screen(frame, unit, unit)
    return max(abs(x1 - x0), abs(y1 - y0))


def tolerance(frame: Frame, px: float = 1.0) -> float:
    """The round-trip tolerance: ``px``, or half a model unit where that is coarser."""
    return max(px, quantum(frame) / 2)


def atoms(actions: list[Action]) -> list[dict[str, Any]]:
    """Actions as the smallest steps every dialect shares: a ``type`` at a point is a click
    there and the typing (Qwen2.5-VL and UI-TARS write it as two calls)."""
    out: list[dict[str, Any]] = []
    for a in actions:
        d = dump_action(a)
        if d["type"] == "type" and "point" in d:
            out.append({"type": "click", "point": d.pop("point")})
            d.pop("box", None)
        out.append(d)
    return out


def inference_cut(text: str, fmt: str) -> str:
    """What inference keeps of ``text``: generation stops at the dialect's first stop string
    and at its first complete action (:mod:`model.backends.stopping`, as the backends use
    it) — so of an answer holding two ``<tool_call>`` blocks only the first is produced."""
    cut = cut_at_stop(text, list(spec_for(fmt).stop), True)[0]
    end = next((n for n in range(1, len(cut) + 1) if action_complete(fmt, cut[:n])), len(cut))
    return cut[:end]


def reachable(text: str, fmt: str, frame: Frame) -> bool:
    """Whether what inference keeps of ``text`` (:func:`inference_cut`) is the same actions:
    a trailing part after the action (UI-Venus's ``<conclusion>``) may go, an action not."""
    try:
        whole = [dump_action(a) for a in parse(fmt, text, frame).actions]
        kept = [dump_action(a) for a in parse(fmt, inference_cut(text, fmt), frame).actions]
    except NativeAgentError:
        return False
    return kept == whole


def turns(actions: list[Action]) -> list[list[Action]]:
    """One step's actions as the single-call turns a dialect that stops after one call is
    trained on, in the order the loop executes them: a ``type`` at a point becomes the
    click, then the typing; a ``type`` that clears the field first selects its text
    (``ctrl+a``), which these dialects cannot say otherwise; ``type … + enter`` the typing,
    then the key."""
    out: list[dict[str, Any]] = []
    for d in atoms(actions):
        if d["type"] == "type" and d.get("clear"):
            out.append({"type": "key", "keys": "ctrl+a"})
            d = {**d, "clear": False}
        out.append(d)
    return [[parse_action(d)] for d in _split_enter(out)]


def drops_clear(actions: list[Action], fmt: str) -> bool:
    """Whether ``fmt`` would lose a ``type``'s ``clear`` (its lossy fields hold it): the
    answer would type after the field's old text instead of over it."""
    lossy = "clear" in spec_for(fmt).lossy
    return lossy and any(getattr(a, "clear", False) for a in actions)


def same_action(
    recorded: list[Action], parsed: list[Action], fmt: str, tol: float = 1.0
) -> str | None:
    """None when ``parsed`` gives back ``recorded`` (each coordinate within ``tol`` px,
    fields the dialect drops ignored); else what differs."""
    dialect = spec_for(fmt)
    lossy = dialect.lossy | {"box", "target"}
    strict = dialect.whole_type  # these write a point-typed `type` as one
    ra = [dump_action(a) for a in recorded] if strict else atoms(recorded)
    pa = [dump_action(a) for a in parsed] if strict else atoms(parsed)
    if not strict:  # "type … + enter" comes back as type + key enter in tool-call dialects
        ra = _split_enter(ra)
        pa = _split_enter(pa)
    if len(ra) != len(pa):
        return f"{len(ra)} actions recorded, {len(pa)} parsed"
    for r, p in zip(ra, pa, strict=True):
        for k in sorted((set(r) | set(p)) - lossy):
            rv, pv = r.get(k), p.get(k)
            if k in ("point", "start", "end") and rv is not None and pv is not None:
                off = max(abs(rv[0] - pv[0]), abs(rv[1] - pv[1]))
                if off > tol + 1e-6:
                    return f"{k} {rv} came back as {pv} ({off:.2f} px off)"
            elif rv != pv and not _default(k, rv, pv):
                return f"{r['type']}.{k}: {rv!r} came back as {pv!r}"
    return None


def _split_enter(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for d in items:
        if d["type"] == "type" and d.get("enter"):
            out.append({**d, "enter": False})
            out.append({"type": "key", "keys": "enter"})
        else:
            out.append(d)
    return out


def _default(key: str, a: Any, b: Any) -> bool:
    """Equal up to a field's default (``enter`` absent = False)."""
    return {a, b} <= {None, False} if key in ("enter", "clear") else False
