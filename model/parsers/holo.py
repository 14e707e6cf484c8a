"""Output dialects of Holo (H Company): localization as one JSON object.

* ``holo-1.5`` (Holo1.5-3B/7B/72B, Qwen2.5-VL): ``{"action": "click_absolute", "x": 947,
  "y": 338}``, pixels of the image the model was given (the cookbook smart-resizes first:
  factor 28, 3,136 … 1,003,520 px);
* ``holo-2`` (Holo2-4B/8B/30B-A3B, Qwen3-VL): ``{"x": 552, "y": 404}``, 0–1000 of that image
  (the cookbook maps back with ``int(x / 1000 * image.width)``; factor 32, 65,536 …
  16,777,216 px).

Both are grounding outputs: the only action is a click. Sources:
hcompai/hai-cookbook@2ba89619bdcfe729d31649d976bdaa7b9551e216 ``holo1_5/holo_1_5_quickstart.ipynb``,
``holo1_5/openai_client/invoke_localization.ipynb``, ``holo2/holo_2_localization_*.ipynb``,
``utils/image.py``. docs/models/holo_gelab.md has the choices.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.core.actions import ACTION_TYPES, Action, Click
from agent.core.coords import CoordSpec, Frame
from model.parsers import complete
from model.parsers.common import Ctx, Dialect, Parsed, find_json, number, strip_or_none
from model.parsers.render import RenderOpts, UnsupportedAction, Writer

CLICK_ABSOLUTE = "click_absolute"  # Holo1.5's ClickAbsoluteAction.action constant
HOLO15_MIN_PIXELS = 56 * 56  # cookbook utils/image.py smart_resize defaults
HOLO15_MAX_PIXELS = 14 * 14 * 4 * 1280
HOLO2_MIN_PIXELS = 64 * 32 * 32  # holo_2_localization_hosted_api.ipynb
HOLO2_MAX_PIXELS = 16384 * 32 * 32


def _parse(with_action: bool) -> Callable[[str, Ctx], Parsed]:
    """A localization object: ``x`` and ``y`` (and Holo1.5's ``action`` constant, which its
    schema defaults, so it may be absent); any other key or action is a ParseError."""
    allowed = {"x", "y", "action"} if with_action else {"x", "y"}

    def parse(text: str, ctx: Ctx) -> Parsed:
        found = find_json(text)
        if found is None:
            raise ctx.fail(text, "no JSON object with x and y found")
        value, start, end = found
        fragment = text[start:end]
        if not isinstance(value, dict):
            raise ctx.fail(fragment, "expected one JSON object {x, y}")
        extra = set(value) - allowed
        if extra:
            raise ctx.fail(fragment, f"unexpected keys {sorted(extra)}; only {sorted(allowed)}")
        if with_action and value.get("action", CLICK_ABSOLUTE) != CLICK_ABSOLUTE:
            raise ctx.fail(fragment, f"unknown action {value['action']!r}: only click_absolute")
        if "x" not in value or "y" not in value:
            raise ctx.fail(fragment, "the object needs both x and y")
        x, y = number(value["x"], ctx, "x"), number(value["y"], ctx, "y")
        point = ctx.point(x, y, fragment)
        thought = strip_or_none(text[:start].replace("```json", "").replace("```", ""))
        return Parsed(thought, [Click(point=point)])

    return parse


def _render(with_action: bool) -> Callable[[list[Action], Frame, RenderOpts], str]:
    def render(actions: list[Action], frame: Frame, opts: RenderOpts) -> str:
        if len(actions) != 1 or actions[0].type != "click":
            kinds = ", ".join(a.type for a in actions)
            raise UnsupportedAction(f"Holo localization writes one click, not {kinds}")
        x, y = Writer(frame, opts.precise).xy(actions[0].point)
        head = f'"action": "{CLICK_ABSOLUTE}", ' if with_action else ""
        return f'{{{head}"x": {x}, "y": {y}}}'

    return render


_OFFERS = frozenset({"click"})
_NOT_OFFERED = frozenset(ACTION_TYPES) - _OFFERS
_LOSSY = frozenset({"box", "target"})

DIALECTS: tuple[Dialect, ...] = (
    Dialect(
        "holo-1.5",
        CoordSpec(
            space="abs", factor=28, min_pixels=HOLO15_MIN_PIXELS, max_pixels=HOLO15_MAX_PIXELS
        ),
        _parse(True),
        _render(True),
        complete.json_complete,
        'Holo1.5 localization: {"action": "click_absolute", "x", "y"}, px of the model input',
        lossy=_LOSSY,
        offers=_OFFERS,
        not_offered=_NOT_OFFERED,
    ),
    Dialect(
        "holo-2",
        CoordSpec(
            space="norm1000", factor=32, min_pixels=HOLO2_MIN_PIXELS, max_pixels=HOLO2_MAX_PIXELS
        ),
        _parse(False),
        _render(False),
        complete.json_complete,
        'Holo2 localization: {"x", "y"}, 0-1000 of the model input',
        lossy=_LOSSY,
        offers=_OFFERS,
        not_offered=_NOT_OFFERED,
    ),
)
