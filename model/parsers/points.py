"""Output dialects of the grounding zoo: models that answer one point for one description.

* ``uground`` — UGround-V1: ``(x, y)``, 0–1000 of the image (the authors ``eval`` the reply
  and map ``int(x / 1000 * W)``);
* ``showui`` — ShowUI-2B: ``[x, y]``, 0–1 of the image (``ast.literal_eval``, ``x * W``);
* ``gta1`` — GTA1: ``(x,y)`` in px of the smart-resized image its system prompt states (the
  first such pair in the reply; ``x * W / resized_w``);
* ``infigui-g1`` — InfiGUI-G1: ``<think>…</think>`` then ``[{"point_2d": [x, y]}, …]`` in px
  of the resized image; the first candidate is the answer (the one its eval scores);
* ``jedi`` — Jedi: Qwen2.5-VL ``<tool_call>`` computer_use calls (the Qwen2.5-VL parser)
  in px of its smart-resized image (max 2700·28² px).

OS-Atlas-Base speaks Qwen2-VL's own box tags: it uses the ``qwen2-vl`` dialect. A point is a
click: these models name no verb (the action space is "grounding"). Coordinates are converted
only by :mod:`agent.core.coords`, through :class:`~model.parsers.common.Ctx`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agent.core.actions import Action, Click
from agent.core.coords import CoordSpec, Frame
from model.parsers import complete, grammar
from model.parsers.common import (
    Ctx,
    Dialect,
    Parsed,
    find_json,
    guard,
    json_coords,
    strip_or_none,
)
from model.parsers.qwen25 import parse_qwen25
from model.parsers.render import RenderOpts, UnsupportedAction, Writer, tool_call_renderer

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
# one pair of numbers in brackets; bounded, no nested quantifiers (linear on any input)
_PAIRS = {
    "(": re.compile(rf"\(\s{{0,8}}({_NUM})\s{{0,8}},\s{{0,8}}({_NUM})\s{{0,8}}\)"),
    "[": re.compile(rf"\[\s{{0,8}}({_NUM})\s{{0,8}},\s{{0,8}}({_NUM})\s{{0,8}}\]"),
}
_CLOSE = {"(": ")", "[": "]"}
_THINK_END = "</think>"
# ShowUI's navigation output: {'action': 'CLICK', 'value': None, 'position': [x, y]}
_SHOWUI_NAV = r"""['"]action['"]\s{0,8}:"""

# pixel budgets of the authors' code (factor 28: Qwen2-VL / Qwen2.5-VL grid)
QWEN_MIN = 4 * 28 * 28  # 3136, qwen_vl_utils / processor default
SHOWUI_MIN = 256 * 28 * 28  # QUICK_START.md: min_pixels
SHOWUI_MAX = 1344 * 28 * 28  # QUICK_START.md: max_pixels
GTA1_MAX = 4096 * 2160  # README: AutoProcessor(max_pixels=4096*2160)
INFIGUI_MAX = 5600 * 28 * 28  # eval.py --max-image-tokens 5600 (its first resize stage)
JEDI_MAX = 2700 * 28 * 28  # jedi_7b_agent.py smart_resize(max_pixels=2700*28*28)

GROUNDING = frozenset({"click"})
NOT_GROUNDING = frozenset(
    {"double_click", "right_click", "middle_click", "hover", "long_press", "type", "scroll"}
    | {"drag", "swipe", "key", "wait", "navigate", "back", "home", "open_app", "finish"}
    | {"call_user"}
)
JEDI_OFFERS = frozenset(
    {"click", "double_click", "right_click", "middle_click", "hover", "drag", "key", "type"}
    | {"scroll", "wait", "finish"}
)
JEDI_NOT_OFFERED = frozenset(
    {"long_press", "swipe", "navigate", "back", "home", "open_app", "call_user"}
)


def _click(ctx: Ctx, x: float, y: float, fragment: str) -> Action:
    with guard(ctx, fragment):
        return Click(point=ctx.point(x, y, fragment))


def pair_parser(bracket: str, *, refuse: str | None = None) -> Callable[[str, Ctx], Parsed]:
    """The first ``(x, y)`` (or ``[x, y]``) pair of the reply is the point; the words before
    it are the thought. A reply matching ``refuse`` (another output mode of the model, e.g.
    ShowUI's navigation dicts) is a ParseError, not a click."""
    pattern = _PAIRS[bracket]
    other = re.compile(refuse) if refuse else None

    def parse(text: str, ctx: Ctx) -> Parsed:
        if other is not None and (hit := other.search(text)) is not None:
            raise ctx.fail(
                text[hit.start() : hit.start() + 120],
                f"{ctx.fmt} reads grounding points only; this is a navigation action",
            )
        m = pattern.search(text)
        if m is None:
            raise ctx.fail(text, f"no {bracket}x, y{_CLOSE[bracket]} point found")
        x, y = float(m.group(1)), float(m.group(2))
        return Parsed(strip_or_none(text[: m.start()]), [_click(ctx, x, y, m.group(0))])

    return parse


def parse_infigui(text: str, ctx: Ctx) -> Parsed:
    """After the last ``</think>``: a JSON list of ``{"point_2d": [x, y]}``; the first one is
    the answer (InfiGUI-G1's eval scores it)."""
    end = text.rfind(_THINK_END)
    thought = text[:end] if end >= 0 else None
    if end < 0 and "<think>" in text:
        raise ctx.fail(text[-200:], "the <think> block is not closed: no answer yet")
    body = text[end + len(_THINK_END) :] if end >= 0 else text
    found = find_json(body)
    if found is None:
        raise ctx.fail(body, 'no [{"point_2d": [x, y]}] list found')
    value, start, stop = found
    first = value[0] if isinstance(value, list) else value
    fragment = body[start:stop]
    if "point_2d" not in first:
        raise ctx.fail(fragment, 'the first candidate has no "point_2d"')
    nums = json_coords(first["point_2d"], ctx, "point_2d")
    if len(nums) != 2:
        raise ctx.fail(fragment, "point_2d must be [x, y]")
    if thought is not None:
        thought = thought.replace("<think>", "")
    return Parsed(strip_or_none(thought), [_click(ctx, nums[0], nums[1], fragment)])


def _only_clicks(actions: list[Action], fmt: str) -> list[tuple[float, float]]:
    points = []
    for a in actions:
        if not isinstance(a, Click):
            raise UnsupportedAction(f"{fmt} names one point to click; it cannot express {a.type}")
        points.append(a.point)
    if len(points) != 1:
        raise UnsupportedAction(f"{fmt} answers exactly one point, got {len(points)} actions")
    return points


def pair_renderer(fmt: str, bracket: str, sep: str) -> Callable[..., str]:
    """One click as the model writes it: ``(x, y)`` / ``[x, y]`` / ``(x,y)``."""

    def render(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
        (p,) = _only_clicks(actions, fmt)
        x, y = Writer(frame, opts.precise).xy(p)
        return f"{bracket}{x}{sep}{y}{_CLOSE[bracket]}"

    return render


def render_infigui(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
    (p,) = _only_clicks(actions, "infigui-g1")
    x, y = Writer(frame, opts.precise).xy(p)
    body = f'[{{"point_2d": [{x}, {y}]}}]'
    return f"<think>{opts.thought}</think>\n{body}" if opts.thought else body


def pair_complete(bracket: str) -> Callable[[str], bool]:
    """The reply holds a whole pair."""
    pattern = _PAIRS[bracket]
    return lambda text: pattern.search(text) is not None


def infigui_complete(text: str) -> bool:
    """The think block is closed and the candidate list after it is closed."""
    end = text.rfind(_THINK_END)
    if end < 0 and "<think>" in text:
        return False
    return complete.json_complete(text[end + len(_THINK_END) :] if end >= 0 else text)


DIALECTS: tuple[Dialect, ...] = (
    Dialect(
        "uground", CoordSpec(space="norm1000", min_pixels=QWEN_MIN), pair_parser("("),
        pair_renderer("uground", "(", ", "), pair_complete("("),
        "UGround-V1: one point (x, y), 0-1000 of the image",
        offers=GROUNDING, not_offered=NOT_GROUNDING,
    ),
    Dialect(
        "showui",
        CoordSpec(space="norm1", min_pixels=SHOWUI_MIN, max_pixels=SHOWUI_MAX),
        pair_parser("[", refuse=_SHOWUI_NAV), pair_renderer("showui", "[", ", "),
        pair_complete("["),
        "ShowUI: one point [x, y], 0-1 of the image",
        offers=GROUNDING, not_offered=NOT_GROUNDING,
    ),
    Dialect(
        "gta1",
        CoordSpec(space="abs", mode="resize", min_pixels=QWEN_MIN, max_pixels=GTA1_MAX),
        pair_parser("("), pair_renderer("gta1", "(", ","), pair_complete("("),
        "GTA1: one point (x,y), px of the smart-resized image its prompt states",
        offers=GROUNDING, not_offered=NOT_GROUNDING,
    ),
    Dialect(
        "infigui-g1",
        CoordSpec(space="abs", mode="resize", min_pixels=QWEN_MIN, max_pixels=INFIGUI_MAX),
        parse_infigui, render_infigui, infigui_complete,
        'InfiGUI-G1: <think>…</think> [{"point_2d": [x, y]}, …], first point, resized px',
        offers=GROUNDING, not_offered=NOT_GROUNDING,
    ),
    Dialect(
        "jedi",
        CoordSpec(space="abs", mode="resize", min_pixels=QWEN_MIN, max_pixels=JEDI_MAX),
        parse_qwen25, tool_call_renderer("jedi"), complete.tool_call_complete,
        "Jedi: computer_use <tool_call>s, px of the smart-resized image (max 2700·28²)",
        stop=("</tool_call>",), grammar=grammar.tool_call_grammar,
        lossy=frozenset({"box", "target", "clear", "duration"}),
        offers=JEDI_OFFERS, not_offered=JEDI_NOT_OFFERED,
    ),
)  # fmt: skip
