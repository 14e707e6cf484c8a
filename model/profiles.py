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


_MAIUI_VENUS: tuple[Profile, ...] = ()  # MAI-UI, UI-Venus


# ----


_OPENCUA_SRC = (
    "xlang-ai/OpenCUA@1d70f20663dcaa01f10c7fed5669887286545866:model/README.md",
    "xlang-ai/OpenCUA@1d70f20663dcaa01f10c7fed5669887286545866:"
    "model/inference/huggingface_inference.py",
    "OSU-NLP-Group/AutoElicit@a9f275dc9cabbe6f723baf1a8b4c3e44dcb3055e:"
    "mm_agents/opencua/opencua_agent.py",
    "OSU-NLP-Group/AutoElicit@a9f275dc9cabbe6f723baf1a8b4c3e44dcb3055e:mm_agents/opencua/prompts.py",
)
_OPENCUA: dict[str, Any] = (
    dict(  # Qwen2.5-VL vision (28 grid), Kimi-VL tokenizer, custom code: opt-in
        format="opencua",
        model_types=("opencua",),
        min_pixels=3136,
        max_pixels=12_845_056,
        grounding_format="opencua",
        sources=_OPENCUA_SRC,
        remote_code=True,
    )
)
_PYAUTOGUI: tuple[Profile, ...] = (  # OpenCUA, Aguvis
    Profile(
        "opencua", "OpenCUA 7B/32B/72B: ## Code pyautogui, px of smart_resize (remote code)",
        prompt="opencua", patterns=(r"opencua",), primary=True,
        aliases=("open-cua", "opencua-7b", "opencua-32b", "opencua-72b"), **_OPENCUA,
    ),
    Profile(  # the OSWorld-Verified system prompt (states that VM's password)
        "opencua-osworld", "OpenCUA with the authors' OSWorld-Verified system prompt",
        prompt="opencua-osworld", **_OPENCUA,
    ),
    Profile(
        "aguvis", "Aguvis (Qwen2-VL): pyautogui after <|recipient|>os, 0-1 of the screenshot",
        "aguvis", "aguvis", (r"aguvis",), ("qwen2_vl",), min_pixels=256 * 28 * 28,
        max_pixels=46 * 26 * 28 * 28, grounding_format="aguvis", stop=("<|diff_marker|>",),
        sources=(
            "xlang-ai/aguvis@178c4187069d8aa028aaf00f209139824c00a76f:src/aguvis/constants.py",
            "xlang-ai/aguvis@178c4187069d8aa028aaf00f209139824c00a76f:src/aguvis/serve/cli.py",
            "xlang-ai/aguvis@178c4187069d8aa028aaf00f209139824c00a76f:train.py",
            "xlang-ai/OpenCUA@1d70f20663dcaa01f10c7fed5669887286545866:"
            "evaluation/agentnetbench/agent/aguvis.py",
        ),
    ),
)  # fmt: skip


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
