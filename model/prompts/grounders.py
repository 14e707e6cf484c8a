"""Prompt styles of the grounding zoo (UGround, OS-Atlas, ShowUI, GTA1, InfiGUI-G1, Jedi).

Each sends one user turn: the screenshot and the description to locate (``PromptInput.task``).
The texts are the authors' published bytes in ``model/prompts/official/`` (placeholders filled
with ``str.replace``, so braces in a task stay as typed):

* ``uground_user.txt`` — OSU-NLP-Group/UGround@3a9b9f2b607eefbfc93558c1f21e6f4049944bf1
  grounding/uground_qwen2vl_serve.py ``format_openai_template``; [image, text], no system;
* ``os_atlas_user.txt`` — OS-Copilot/OS-Atlas@bad08407ab54b5bf6c17a69fe1ced476b9494926
  README.md (OS-Atlas-Base-7B); [image, text], no system;
* ``showui_grounding.txt`` — showlab/ShowUI@21ed7cb24be0cc877bb8352ee34d58a9aea2c876 app.py
  ``_SYSTEM``; the authors send [text, image, query]: an Opening has one text, so we send
  [text + query, image] (the same bytes, the image after them — docs/models/grounders.md);
* ``gta1_system.txt`` — Yan98/GTA1@81f0c4c2997cf6ad696d42f47c5480f4c856b73a README.md
  ``SYSTEM_PROMPT`` with the resized {height}, {width}; user [image, instruction];
* ``infigui_g1_system.txt`` / ``infigui_g1_user.txt`` — InfiXAI/InfiGUI-G1@
  22208e4d4826626731292fa08bb73ec9fc6f9b15 eval/prompts.py ``InfiguiG1Prompt`` (think mode,
  the eval default); the user text's leading ``<image>`` is where the screenshot goes;
* ``jedi_system.txt`` / ``jedi_user.txt`` — JEDI_GROUNDER_SYS_PROMPT and the grounder's user
  text of OSWorld's jedi_7b_agent.py, read from the fork limenlp/OS_Blind@
  240e58937a313c9d33695184631b461d63310799 mm_agents/ (filled with ``str.replace`` as that
  agent does, so its doubled braces stay doubled); [image, "\\n" + instruction].
"""

from __future__ import annotations

from collections.abc import Callable

from model.prompts.opening import Builder, Opening, PromptInput
from model.prompts.templates import official

_IMAGE_TAG = "<image>"  # InfiGUI-G1's user text: the screenshot's place (it opens the text)


def _fill(template: str, **values: str) -> str:
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def _user_only(name: str, key: str) -> Callable[[PromptInput], Opening]:
    """No system prompt (the chat template's default), [image, text]."""

    def build(p: PromptInput) -> Opening:
        return Opening(None, _fill(official(name), **{key: p.task}), image_first=True)

    return build


def showui(p: PromptInput) -> Opening:
    return Opening(None, official("showui_grounding.txt") + p.task)


def gta1(p: PromptInput) -> Opening:
    w, h = p.size
    system = _fill(official("gta1_system.txt"), height=str(h), width=str(w))
    return Opening(system, p.task, image_first=True)


def infigui_g1(p: PromptInput) -> Opening:
    w, h = p.size
    user = official("infigui_g1_user.txt").removeprefix(_IMAGE_TAG)
    user = user.replace("{image_width}", str(w)).replace("{image_height}", str(h))
    user = user.replace("{sample['instruction']}", p.task)
    return Opening(official("infigui_g1_system.txt"), user, image_first=True)


def jedi(p: PromptInput) -> Opening:
    w, h = p.size
    system = _fill(official("jedi_system.txt"), width=str(w), height=str(h))
    return Opening(system, _fill(official("jedi_user.txt"), instruction=p.task), image_first=True)


PROMPTS: dict[str, Builder] = {
    "uground": _user_only("uground_user.txt", "description"),
    "os-atlas": _user_only("os_atlas_user.txt", "instruction"),
    "showui": showui,
    "gta1": gta1,
    "infigui-g1": infigui_g1,
    "jedi": jedi,
}
