"""Prompt styles of OpenCUA and Aguvis: the authors' texts, byte-exact, from
``model/prompts/official/``:

* ``opencua_v1_l2_system.txt`` — OpenCUA's L2 (Thought + Action + Code) system prompt as in
  its training data: ``SYSTEM_PROMPT_V1_L2``, first assignment, of the OSWorld agent's
  ``mm_agents/opencua/prompts.py`` (OSU-NLP-Group/AutoElicit@a9f275dc, a fork of
  xlang-ai/OSWorld). The same file re-assigns the name to an "OSWorld-Verified" version that
  adds that VM's password (``opencua_v1_l2_osworld_system.txt``, prompt ``opencua-osworld``);
  ours is the default because the password is wrong anywhere else.
* ``opencua_instruction.txt`` — ``INSTRUTION_TEMPLATE`` of the same file (user text, after
  the screenshot).
* ``opencua_grounding_system.txt`` — ``model/inference/huggingface_inference.py`` of
  xlang-ai/OpenCUA@1d70f206 (grounding: system, then [image, instruction]).
* ``aguvis_grounding_system.txt``, ``aguvis_agent_system.txt``,
  ``aguvis_user_instruction.txt`` — ``grounding_system_message``, ``agent_system_message``,
  ``user_instruction`` of xlang-ai/aguvis@178c4187 ``src/aguvis/constants.py``; the user
  turn is [image, text] as ``src/aguvis/serve/cli.py`` sends it.

Older steps (beyond the screenshots replayed as turns) follow the instruction as text lines:
the authors fold them into one assistant turn (OpenCUA) or ``previous_actions`` (Aguvis).
"""

from __future__ import annotations

from collections.abc import Callable

from model.prompts.opening import Builder, Opening, PromptInput
from model.prompts.templates import official


def _opencua(system: str) -> Callable[[PromptInput], Opening]:
    def build(p: PromptInput) -> Opening:
        if p.space == "grounding":
            return Opening(official("opencua_grounding_system.txt"), p.task, image_first=True)
        text = official("opencua_instruction.txt").format(instruction=p.task)
        if p.lines:
            text += "\n" + "\n".join(p.lines) + "\n"
        return Opening(official(system), text, image_first=True)

    return build


def _aguvis(p: PromptInput) -> Opening:
    grounding = p.space == "grounding"
    system = "aguvis_grounding_system.txt" if grounding else "aguvis_agent_system.txt"
    previous = "\n".join(p.lines) if p.lines and not grounding else "None"
    text = official("aguvis_user_instruction.txt").format(
        overall_goal=p.task, previous_actions=previous
    )
    return Opening(official(system), text, image_first=True)


PROMPTS: dict[str, Builder] = {
    "opencua": _opencua("opencua_v1_l2_system.txt"),
    "opencua-osworld": _opencua("opencua_v1_l2_osworld_system.txt"),
    "aguvis": _aguvis,
}
