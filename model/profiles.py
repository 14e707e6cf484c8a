"""Model profiles: the one place that knows a model family, as data.

A profile says how a checkpoint is recognised (hub id / served name patterns, the
``model_type`` of its ``config.json``), its vision grid (patch × merge: 28 for Qwen2-VL,
Qwen2.5-VL and UI-TARS, 32 for Qwen3-VL and Qwen3.5), image normalisation and pixel budget
(defaults; a checkpoint's own processor config wins, see :func:`model.vision.vision_settings`), its
coordinate space (through its output format, see :mod:`model.parsers`), its prompt template and
chat structure, its stop strings and how its history is kept. Code never branches on a
profile's name: it reads these fields. Coordinates are converted only by
:mod:`agent.core.coords`; a profile only names the space.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agent.core.coords import Frame, Mode
from agent.core.errors import ConfigError
from agent.core.model import check_block
from model.parsers import spec_for

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # Qwen2-VL / Qwen2.5-VL / UI-TARS processors
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
HALF = (0.5, 0.5, 0.5)  # Qwen3-VL / Qwen3.5 preprocessor_config.json: image_mean = image_std
DEFAULT_BLOCK = 3  # history_block of a family whose authors give no window (1..3 images)


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
    # the authors' history window: earlier steps a request holds, and how many of the last of
    # them keep their screenshot (None: the backend's default; settings override both)
    history_steps: int | None = None
    history_images: int | None = None
    history_block: int | None = None  # None: 1 with an authors' window, else DEFAULT_BLOCK

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

    def history(self, steps: int | None, images: int | None) -> tuple[int, int]:
        """(history_steps, history_images): the settings where given, else the authors'
        window, else 20 steps of which 2 with their screenshot."""
        steps = steps if steps is not None else self.history_steps
        images = images if images is not None else self.history_images
        return (20 if steps is None else steps), (2 if images is None else images)

    def block(self, block: int | None, images: int) -> int:
        """``history_block``: the setting, else the profile's, else 1 (sliding) where the
        authors give a window or ``images`` is 0, else :data:`DEFAULT_BLOCK`; checked."""
        if block is None:
            block = self.history_block
        if block is None:
            authors = self.history_steps is not None or self.history_images is not None
            block = 1 if authors or images < 1 else DEFAULT_BLOCK
        check_block(block, images)
        return block

    @property
    def max_tokens(self) -> int:
        """The authors' pixel budget as image tokens of this grid."""
        return max(4, self.max_pixels // self.grid**2)

    def frame(
        self,
        screen_w: int,
        screen_h: int,
        *,
        action_space: str = "computer",
        mode: Mode | None = None,
        max_tokens: int | None = None,
        **kw: Any,
    ) -> Frame:
        """The Frame a screenshot gets for this family in an action space: the dialect's
        coordinate spec, this family's grid, resize floor and pixel budget (``max_tokens``
        overrides the budget; ``mode`` the dialect's mode; other keywords go to
        :meth:`~agent.core.coords.Frame.for_screen`: scale, offset, pointer…)."""
        dialect = spec_for(self.format_for(action_space))
        floor = self.min_pixels if self.min_pixels is not None else dialect.min_pixels
        if floor is not None:
            kw.setdefault("min_pixels", floor)
        return dialect.coords.frame(
            screen_w,
            screen_h,
            mode=mode,
            factor=self.grid,
            max_tokens=max_tokens or self.max_tokens,
            **kw,
        )

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
            min_pixels=_UITARS_MIN, separate_turns=True, history_as_turns=True, history_block=1,
            keep_special_tokens=True, aliases=("uitars-1.5", "ui_tars_1.5", "ui-tars1.5"),
            grounding_format="ui-tars-1.5",  # its GROUNDING prompt answers click(start_box=…)
            sources=("bytedance/UI-TARS@6b315cc:codes/prompts.py", "PyPI ui-tars 0.5.1"),
        ),
        Profile(
            "ui-tars", "UI-TARS v1 (Qwen2-VL arch): 0-1000",
            "ui-tars", "ui-tars-v1", (r"ui-?tars",), ("qwen2_vl",),
            min_pixels=_UITARS_MIN, history_as_turns=True, history_block=1,
            keep_special_tokens=True, aliases=("uitars", "ui_tars", "ui-tars-1", "ui-tars-v1"),
            sources=("bytedance/UI-TARS:README_v1.md",),
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
            max_pixels=_QWEN3_MAX, strip_think=True, grounding_format="qwen3-vl",
            aliases=("qwen3vl", "qwen3_vl", "qwen3-vl-moe", "qwen3_vl_moe"),
            sources=("QwenLM/Qwen3-VL:cookbooks/utils/agent_function_call.py",
                     "QwenLM/Qwen3-VL:cookbooks/mobile_agent.ipynb",
                     "QwenLM/Qwen3-VL@96588727e44c78b25ba03ea03b8e12f7e64fd0da:"
                     "cookbooks/spatial_understanding.ipynb (grounding: point_2d)"),
        ),
        Profile(
            "qwen2.5-vl", "Qwen2.5-VL: computer_use / mobile_use calls, model-input px",
            "qwen2.5-vl", "qwen2.5-vl", (r"qwen2[.-]?5-?vl",), ("qwen2_5_vl",), True,
            aliases=("qwen25vl", "qwen2_5_vl", "qwen2.5vl"), grounding_format="qwen2.5-vl",
            sources=("QwenLM/Qwen2.5-VL:cookbooks/utils/agent_function_call.py",
                     "PyPI qwen-agent 0.0.34 (NousFnCallPrompt)",
                     "QwenLM/Qwen2.5-VL:cookbooks/spatial_understanding.ipynb (bbox_2d)"),
        ),
        Profile(
            "qwen2-vl", "Qwen2-VL grounding (0-1000 boxes)",
            "qwen2-vl", "qwen2-vl", (r"qwen2-?vl",), ("qwen2_vl",), True,
            keep_special_tokens=True, aliases=("qwen2vl", "qwen2_vl"), grounding_format="qwen2-vl",
        ),
        Profile(
            "qwen-vl", "Qwen-VL grounding (<ref>/<box>, 0-1000)",
            "qwen-vl", "qwen-vl", (r"qwen-?vl",), aliases=("qwenvl",), grounding_format="qwen-vl",
        ),
        Profile("json", "any instruction model: action JSON, screen px", "json", "json"),
    )
}  # fmt: skip

# ---- the GUI fine-tunes of the Qwen-VL family, one block per group ----------------------------
# (docs/models/families.md lists each one's choices and sources)


_MA35 = "X-PLUG/MobileAgent@11cea575561fb7800b5fb6b6cafa56f7a91de11f:Mobile-Agent-v3.5/"
_EVO = "meituan/EvoCUA@4a0ad5fd4eb1d5b65966e1c7cc3feaa3b534eadd:mm_agents/evocua/"
_OWL: tuple[Profile, ...] = (  # GUI-Owl-1.5, EvoCUA (docs/models/owl.md)
    Profile(
        "gui-owl-1.5", "GUI-Owl-1.5 (Qwen3-VL): Action: + computer_use/mobile_use, v/999",
        "gui-owl-1.5", "gui-owl-1.5", (r"gui-?owl-?1[.-]5",), ("qwen3_vl", "qwen3_vl_moe"),
        mobile_format="gui-owl-1.5-mobile", patch=16, mean=HALF, std=HALF,
        min_pixels=56 * 56, max_pixels=16 * 16 * 4 * 12800,
        aliases=("guiowl-1.5", "gui_owl_1_5", "mobile-agent-v3.5"),
        sources=(
            _MA35 + "computer_use/utils.py",
            _MA35 + "computer_use/run_gui_owl_1_5_for_pc.py",
            _MA35 + "mobile_use/utils.py",
            _MA35 + "mobile_use/run_gui_owl_1_5_for_mobile.py",
            _MA35 + "android_world_v3.5/android_world/agents/mobile_agent_utils_new.py",
            "X-PLUG/OSWorld-MCP@10ed9f494adf747cd8ae16a4a1efa4f63a1fef74:"
            "osworld/mm_agents/gui_owl_1_5_agent.py",
        ),
        history_images=4,
),
    Profile(
        "evocua", "EvoCUA (Qwen3-VL): S2 Action: + computer_use calls, v/999",
        "evocua", "evocua", (r"evo-?cua",), ("qwen3_vl", "qwen3_vl_moe"),
        patch=16, mean=HALF, std=HALF, min_pixels=56 * 56, max_pixels=16 * 16 * 4 * 12800,
        aliases=("evo-cua", "evocua-s2"),
        sources=(_EVO + "evocua_agent.py", _EVO + "prompts.py", _EVO + "utils.py"),
        history_images=4,
),
    Profile(  # chosen by name only: its prompt states the processed image size
        "evocua-absolute", "EvoCUA, coordinate_type=absolute: px of the factor-32 resize",
        "evocua-absolute", "evocua", (), ("qwen3_vl", "qwen3_vl_moe"),
        patch=16, mean=HALF, std=HALF, min_pixels=56 * 56, max_pixels=16 * 16 * 4 * 12800,
        sources=(_EVO + "evocua_agent.py", _EVO + "prompts.py", _EVO + "utils.py"),
        history_images=4,
),
)  # fmt: skip


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
        history_images=2,
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
        history_steps=5, history_images=0,
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


_HAI = "hcompai/hai-cookbook@2ba89619bdcfe729d31649d976bdaa7b9551e216:"
_GELAB = "stepfun-ai/gelab-zero@19465cf337effc20db25830688aeec5a72855c0a:"
_HOLO_GELAB: tuple[Profile, ...] = (  # Holo, GELab-Zero (docs/models/holo_gelab.md)
    Profile(
        "holo-1.5", "Holo1.5 (Qwen2.5-VL) localization: click_absolute JSON, model-input px",
        "holo-1.5", "holo-1.5", (r"holo-?1[.-]5",), ("qwen2_5_vl",),
        mobile_format="holo-1.5", grounding_format="holo-1.5",
        min_pixels=56 * 56, max_pixels=14 * 14 * 4 * 1280,
        aliases=("holo1.5", "holo1_5", "holo-1-5"),
        sources=(
            _HAI + "holo1_5/holo_1_5_quickstart.ipynb",
            _HAI + "holo1_5/openai_client/invoke_localization.ipynb",
            _HAI + "utils/image.py",
        ),
        history_steps=0,  # single-turn: the authors send one screenshot
),
    Profile(
        "holo-2", "Holo2 (Qwen3-VL) localization: {x, y} JSON, 0-1000",
        "holo-2", "holo-2", (r"holo-?2(?![\d.])",), ("qwen3_vl", "qwen3_vl_moe"),
        mobile_format="holo-2", grounding_format="holo-2", patch=16, mean=HALF, std=HALF,
        min_pixels=64 * 32 * 32, max_pixels=16384 * 32 * 32, strip_think=True,
        aliases=("holo2",),
        sources=(
            _HAI + "holo2/holo_2_localization_huggingface.ipynb",
            _HAI + "holo2/holo_2_localization_hosted_api.ipynb",
            _HAI + "holo2/deploy_with_vllm.md",
        ),
        history_steps=0,  # single-turn: the authors send one screenshot
),
    Profile(
        "gelab-zero", "GELab-Zero (Qwen3-VL-4B) Android agent: TAB fields, 0-1000",
        "gelab-zero", "gelab-zero", (r"gelab",), ("qwen3_vl",),
        mobile_format="gelab-zero", patch=16, mean=HALF, std=HALF, max_pixels=_QWEN3_MAX,
        aliases=("gelab", "gelab-zero-4b"),
        sources=(
            _GELAB + "copilot_tools/parser_0920_summary.py",
            _GELAB + "copilot_agent_client/pu_client.py",
            _GELAB + "copilot_front_end/pu_frontend_executor.py",
        ),
        history_images=0,
),
)  # fmt: skip


# ----


_GROUNDERS: tuple[Profile, ...] = (  # UGround, OS-Atlas, ShowUI, GTA1, InfiGUI-G1, Jedi (not Fara)
    # grounders: one point per description; `computer` is the same click-only dialect
    # (docs/models/grounders.md). Budgets are the authors' (model/parsers/points.py).
    Profile(
        "uground", "UGround-V1 (Qwen2-VL): one point (x, y), 0-1000",
        "uground", "uground", (r"uground",), ("qwen2_vl",), grounding_format="uground",
        min_pixels=3136,
        sources=(
            "OSU-NLP-Group/UGround@3a9b9f2b607eefbfc93558c1f21e6f4049944bf1:"
            "grounding/uground_qwen2vl_serve.py",
        ),
        history_steps=0,  # single-turn: the authors send one screenshot
),
    Profile(
        "os-atlas", "OS-Atlas-Base (Qwen2-VL): Qwen2-VL box tags, 0-1000",
        "qwen2-vl", "os-atlas", (r"os-?atlas-?base", r"os-?atlas-?7b"), ("qwen2_vl",),
        grounding_format="qwen2-vl", keep_special_tokens=True, min_pixels=3136,
        sources=("OS-Copilot/OS-Atlas@bad08407ab54b5bf6c17a69fe1ced476b9494926:README.md",),
        history_steps=0,  # single-turn: the authors send one screenshot
),
    Profile(
        "showui", "ShowUI (Qwen2-VL): one point [x, y], 0-1",
        "showui", "showui", (r"showui",), ("qwen2_vl",), grounding_format="showui",
        min_pixels=256 * 28 * 28, max_pixels=1344 * 28 * 28,
        sources=(
            "showlab/ShowUI@21ed7cb24be0cc877bb8352ee34d58a9aea2c876:QUICK_START.md",
            "showlab/ShowUI@21ed7cb24be0cc877bb8352ee34d58a9aea2c876:app.py",
            "showlab/ShowUI@21ed7cb24be0cc877bb8352ee34d58a9aea2c876:api.py",
        ),
        history_steps=0,  # single-turn: the authors send one screenshot
),
    Profile(
        "gta1", "GTA1 (Qwen2.5-VL): one point (x,y), px of its smart-resized image",
        "gta1", "gta1", (r"gta-?1",), ("qwen2_5_vl",), grounding_format="gta1",
        min_pixels=3136, max_pixels=4096 * 2160,
        sources=("Yan98/GTA1@81f0c4c2997cf6ad696d42f47c5480f4c856b73a:README.md",),
        history_steps=0,  # single-turn: the authors send one screenshot
),
    Profile(
        "infigui-g1", "InfiGUI-G1 (Qwen2.5-VL): think, then point_2d list, resized px",
        "infigui-g1", "infigui-g1", (r"infigui-?g1",), ("qwen2_5_vl",),
        grounding_format="infigui-g1", min_pixels=3136, max_pixels=5600 * 28 * 28,
        strip_think=True,
        sources=(
            "InfiXAI/InfiGUI-G1@22208e4d4826626731292fa08bb73ec9fc6f9b15:eval/prompts.py",
            "InfiXAI/InfiGUI-G1@22208e4d4826626731292fa08bb73ec9fc6f9b15:eval/eval.py",
        ),
        history_steps=0,  # single-turn: the authors send one screenshot
),
    Profile(
        "jedi", "Jedi (Qwen2.5-VL): computer_use tool calls, px of its smart-resized image",
        "jedi", "jedi", (r"(?:^|/)jedi-",), ("qwen2_5_vl",), grounding_format="jedi",
        min_pixels=3136, max_pixels=2700 * 28 * 28,
        sources=(
            "limenlp/OS_Blind@240e58937a313c9d33695184631b461d63310799:mm_agents/prompts.py",
            "limenlp/OS_Blind@240e58937a313c9d33695184631b461d63310799:"
            "mm_agents/jedi_7b_agent.py",
        ),
        history_steps=0,  # single-turn: the authors send one screenshot
),
)  # fmt: skip


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
