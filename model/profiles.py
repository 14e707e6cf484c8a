"""Model profiles: the one place that knows a model family, as data.

A profile says how a checkpoint is recognised (hub id / served name patterns, the
``model_type`` of its ``config.json``), its vision grid (patch × merge: 28 for Qwen2-VL,
Qwen2.5-VL and UI-TARS, 32 for Qwen3-VL and Qwen3.5), image normalisation and pixel budget
(defaults; a checkpoint's own processor config wins, see :func:`vision_settings`), its
coordinate space (through its output format, see :mod:`model.parsers`), its prompt template and
chat structure, its stop strings and how its history is kept. Code never branches on a
profile's name: it reads these fields. Coordinates are converted only by
:mod:`agent.core.coords`; a profile only names the space.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agent.core.errors import ConfigError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # Qwen2-VL / Qwen2.5-VL / UI-TARS processors
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
HALF = (0.5, 0.5, 0.5)  # Qwen3-VL / Qwen3.5 preprocessor_config.json: image_mean = image_std


@dataclass(frozen=True)
class Profile:
    """One model family. See the module docstring; every field is data, read by the code."""

    name: str
    description: str
    format: str  # parser (model.parsers.FORMATS) for the computer action space
    prompt: str  # template key (model.prompts.templates.PROMPTS)
    patterns: tuple[str, ...] = ()  # regexes over the normalised name, most specific first
    model_types: tuple[str, ...] = ()  # config.json model_type values it runs on
    primary: bool = False  # the family an unnamed checkpoint of these model_types gets
    mobile_format: str | None = None  # parser for action_space="mobile" (None: format)
    patch: int = 14
    merge: int = 2
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD
    min_pixels: int | None = None  # smart_resize floor in resize mode (None: 2×2 grid cells)
    max_pixels: int = 16384 * 28 * 28  # default cap (hub processor configs)
    separate_turns: bool = False  # official chat: prompt and each screenshot as own user turns
    history_as_turns: bool = False  # older steps as assistant turns (UI-TARS) vs text lines
    keep_special_tokens: bool = False  # output carries special-token tags (<|box_start|>)
    strip_think: bool = False  # history replays replies without their <think>…</think>
    stop: tuple[str, ...] = ()  # extra stop strings (end-of-turn tokens are always stops)
    aliases: tuple[str, ...] = ()
    grounding_format: str | None = None  # parser for action_space="grounding" (None: none)
    sources: tuple[str, ...] = ()  # repo@commit:path of the prompt, parser and coordinates
    remote_code: bool = False  # its architecture loads only with trust_remote_code (opt-in)

    @property
    def grid(self) -> int:
        """Each native-resolution model-input side is a multiple of this."""
        return self.patch * self.merge

    def format_for(self, action_space: str = "computer") -> str:
        """The parser format for an action space (Qwen3-VL's mobile cookbook is 0–999); a
        family without a grounding prompt has no grounding space (ConfigError)."""
        if action_space == "grounding":
            if self.grounding_format is None:
                raise ConfigError(
                    f"model family {self.name!r} has no grounding prompt; "
                    f"action spaces: {', '.join(self.action_spaces)}"
                )
            return self.grounding_format
        mobile = action_space == "mobile" and self.mobile_format
        return self.mobile_format if mobile else self.format  # type: ignore[return-value]

    @property
    def action_spaces(self) -> tuple[str, ...]:
        """The action spaces it has a prompt and a dialect for."""
        spaces = ["computer", "mobile"]
        return (*spaces, "grounding") if self.grounding_format else tuple(spaces)


_UITARS_MIN = 100 * 28 * 28  # ui-tars action_parser.MIN_PIXELS (78,400 px²)
_QWEN3_MAX = 16384 * 32 * 32  # Qwen3-VL preprocessor_config.json size.longest_edge

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "ui-tars-1.5", "UI-TARS-1.5 (Qwen2.5-VL arch): px of its smart_resize space",
            "ui-tars-1.5", "ui-tars-1.5", (r"ui-?tars-?1[.-]5", r"ui-?tars"), ("qwen2_5_vl",),
            min_pixels=_UITARS_MIN, separate_turns=True, history_as_turns=True,
            keep_special_tokens=True, aliases=("uitars-1.5", "ui_tars_1.5", "ui-tars1.5"),
        ),
        Profile(
            "ui-tars", "UI-TARS v1 (Qwen2-VL arch): 0-1000",
            "ui-tars", "ui-tars-v1", (r"ui-?tars",), ("qwen2_vl",),
            min_pixels=_UITARS_MIN, history_as_turns=True, keep_special_tokens=True,
            aliases=("uitars", "ui_tars", "ui-tars-1", "ui-tars-v1"),
        ),
        Profile(
            "qwen3.5", "Qwen3.5 (native VL, 32-px grid): computer_use calls, 0-1000",
            "qwen3-vl", "qwen3-vl", (r"qwen3[.-]5",), ("qwen3_5", "qwen3_5_moe"), True,
            mobile_format="qwen3-vl-mobile", patch=16, mean=HALF, std=HALF,
            max_pixels=_QWEN3_MAX, strip_think=True, aliases=("qwen3_5", "qwen35"),
        ),
        Profile(
            "qwen3-vl", "Qwen3-VL (32-px grid): computer_use 0-1000, mobile_use 0-999",
            "qwen3-vl", "qwen3-vl", (r"qwen3-?vl",), ("qwen3_vl", "qwen3_vl_moe"), True,
            mobile_format="qwen3-vl-mobile", patch=16, mean=HALF, std=HALF,
            max_pixels=_QWEN3_MAX, strip_think=True,
            aliases=("qwen3vl", "qwen3_vl", "qwen3-vl-moe", "qwen3_vl_moe"),
        ),
        Profile(
            "qwen2.5-vl", "Qwen2.5-VL: computer_use / mobile_use calls, model-input px",
            "qwen2.5-vl", "qwen2.5-vl", (r"qwen2[.-]?5-?vl",), ("qwen2_5_vl",), True,
            aliases=("qwen25vl", "qwen2_5_vl", "qwen2.5vl"),
        ),
        Profile(
            "qwen2-vl", "Qwen2-VL grounding (0-1000 boxes)",
            "qwen2-vl", "qwen2-vl", (r"qwen2-?vl",), ("qwen2_vl",), True,
            keep_special_tokens=True, aliases=("qwen2vl", "qwen2_vl"),
        ),
        Profile(
            "qwen-vl", "Qwen-VL grounding (<ref>/<box>, 0-1000)",
            "qwen-vl", "qwen-vl", (r"qwen-?vl",), aliases=("qwenvl",),
        ),
        Profile("json", "any instruction model: action JSON, screen px", "json", "json"),
    )
}  # fmt: skip

# ---- the GUI fine-tunes of the Qwen-VL family, one block per group ----------------------------
# (docs/models/families.md lists each one's choices and sources)


_OWL: tuple[Profile, ...] = ()  # GUI-Owl-1.5, EvoCUA


# ----


_MAIUI = "Tongyi-MAI/MAI-UI@4dd07b9e910a294f001452e888514d912b96cc41"
_MOBILEWORLD = "Tongyi-MAI/MobileWorld@d42de478ebc6155911e7319dccfaa1619a4488a3"
_VENUS15 = "inclusionAI/UI-Venus@c3a1442c3c4501af18c124458dbbddcbda5c2c6f"
_VENUS10 = "inclusionAI/UI-Venus@497e2cd9b0c131e4685de23598f51e2da4dd7562"
_MAIUI_VENUS: tuple[Profile, ...] = (  # MAI-UI, UI-Venus (docs/models/maiui_venus.md)
    Profile(
        "mai-ui", "MAI-UI (Qwen3-VL): <thinking> + mobile_use calls 0-999; grounding /1000",
        "mai-ui", "mai-ui", (r"\bmai-?ui",), ("qwen3_vl",),
        grounding_format="mai-ui-grounding", patch=16, mean=HALF, std=HALF,
        min_pixels=65536, max_pixels=_QWEN3_MAX, separate_turns=True, history_as_turns=True,
        aliases=("maiui", "mai_ui"),
        sources=(
            f"{_MAIUI}:src/prompt.py", f"{_MAIUI}:src/mai_naivigation_agent.py",
            f"{_MOBILEWORLD}:src/mobile_world/agents/utils/action_translation.py",
            f"{_MAIUI}:evaluation/grounding/eval_server.py",
        ),
    ),
    Profile(
        "ui-venus-1.5", "UI-Venus-1.5 (Qwen3-VL): <think>/<action>Click(box=(x,y)) /1000",
        "ui-venus-1.5", "ui-venus-1.5", (r"ui-?venus-?1[.-]5",), ("qwen3_vl", "qwen3_vl_moe"),
        grounding_format="ui-venus-1.5-grounding", patch=16, mean=HALF, std=HALF,
        min_pixels=3136, max_pixels=12845056, aliases=("uivenus-1.5", "ui-venus1.5"),
        sources=(
            f"{_VENUS15}:Venus_framework/policy/ui_venus_policy.py",
            f"{_VENUS15}:Venus_framework/processor/uivenus_processor.py",
            f"{_VENUS15}:models/navigation/utils.py",
            f"{_VENUS15}:models/navigation/ui_venus_navi_agent.py",
            f"{_VENUS15}:models/grounding/ui_venus1_5_gd.py",
        ),
    ),
    Profile(
        "ui-venus", "UI-Venus-1.0 (Qwen2.5-VL): <think>/<action>, px of the resized input",
        "ui-venus", "ui-venus", (r"ui-?venus(?!-?1[.-]5)",), ("qwen2_5_vl",),
        grounding_format="ui-venus-grounding", min_pixels=830000, max_pixels=937664,
        aliases=("uivenus", "ui-venus-1.0", "ui-venus-1"),
        sources=(
            f"{_VENUS10}:models/navigation/utils.py",
            f"{_VENUS10}:models/navigation/ui_venus_navi_agent.py",
            f"{_VENUS10}:models/grounding/ui_venus_ground_7b.py",
        ),
    ),
)  # fmt: skip


# ----


_PYAUTOGUI: tuple[Profile, ...] = ()  # OpenCUA, Aguvis


# ----


_HOLO_GELAB: tuple[Profile, ...] = ()  # Holo, GELab-Zero


# ----


_GROUNDERS: tuple[Profile, ...] = ()  # UGround, OS-Atlas, ShowUI, GTA1, InfiGUI-G1, Jedi, Fara


# ----


for _group in (_OWL, _MAIUI_VENUS, _PYAUTOGUI, _HOLO_GELAB, _GROUNDERS):
    PROFILES.update({p.name: p for p in _group})

_ALIASES = {a: p.name for p in PROFILES.values() for a in p.aliases}


def get_profile(name: str) -> Profile:
    """A profile by name or alias; an unknown name is a ConfigError listing the known ones."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in PROFILES:
        raise ConfigError(
            f"unknown model family {name!r} (--model-family / family setting); "
            f"known: {', '.join(PROFILES)}"
        )
    return PROFILES[key]


def detect_profile(name: str, model_type: str | None = None) -> Profile:
    """The profile of a model from its name (hub id, path, served name) and, when known, its
    config's ``model_type``: among the profiles whose patterns match the name, those that run
    on that ``model_type`` win, then the most specific pattern, then declaration order.
    A name that matches nothing falls back to the ``model_type``'s primary profile, then json.
    """
    n = re.sub(r"[\s_]+", "-", name.lower())
    matches: list[tuple[int, int, Profile]] = []
    for order, p in enumerate(PROFILES.values()):
        for rank, pattern in enumerate(p.patterns):
            if re.search(pattern, n):
                matches.append((rank, order, p))
                break
    if model_type:
        on_arch = [m for m in matches if model_type in m[2].model_types]
        matches = on_arch or matches
    if matches:
        return min(matches, key=lambda m: (m[0], m[1]))[2]
    for p in PROFILES.values():
        if p.primary and model_type in p.model_types:
            return p
    return PROFILES["json"]


def resolve_profile(
    name: str, *, model_type: str | None = None, family: str | None = None
) -> Profile:
    """The ``family`` setting (``--model-family``) if given, else :func:`detect_profile`."""
    return get_profile(family) if family else detect_profile(name, model_type)


def vision_settings(profile: Profile, image_processor: Any | None = None) -> dict[str, Any]:
    """Patch, merge, temporal patch, mean/std and pixel bounds: the checkpoint's processor
    config when there is one (what the model was trained with), else the profile's defaults."""
    ip = image_processor
    size = getattr(ip, "size", None) or {}
    get = size.get if hasattr(size, "get") else (lambda _k: None)
    out: dict[str, Any] = {
        "patch_size": int(getattr(ip, "patch_size", None) or profile.patch),
        "merge_size": int(getattr(ip, "merge_size", None) or profile.merge),
        "temporal_patch_size": int(getattr(ip, "temporal_patch_size", None) or 2),
        "mean": tuple(float(v) for v in (getattr(ip, "image_mean", None) or profile.mean)),
        "std": tuple(float(v) for v in (getattr(ip, "image_std", None) or profile.std)),
    }
    out["min_pixels"] = get("shortest_edge") or getattr(ip, "min_pixels", None)
    out["max_pixels"] = get("longest_edge") or getattr(ip, "max_pixels", None)
    out["max_pixels"] = int(out["max_pixels"] or profile.max_pixels)
    return out
