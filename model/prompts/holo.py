"""Prompt styles of Holo (H Company): one user turn ``[image, prompt + "\\n" + task]``, no
system message (the chat template adds its default, as in the authors' calls).

The texts are the localization prompts of
hcompai/hai-cookbook@2ba89619bdcfe729d31649d976bdaa7b9551e216:
``holo1_5/holo_1_5_quickstart.ipynb`` (Holo1.5) and
``holo2/holo_2_localization_huggingface.ipynb`` (Holo2). Each embeds the Python-dict form
of its answer schema's ``model_json_schema()`` (pydantic 2.13.4). They ship byte-exact as
``official/holo1_5_localization.txt`` and ``official/holo2_localization.txt``. Holo is a
localization model here: the task is the target to click; older steps are not sent.
"""

from __future__ import annotations

from model.prompts.opening import Builder, Opening, PromptInput
from model.prompts.templates import official


def _localize(name: str) -> Builder:
    def build(p: PromptInput) -> Opening:
        return Opening(None, official(name) + "\n" + p.task, image_first=True)

    return build


PROMPTS: dict[str, Builder] = {
    "holo-1.5": _localize("holo1_5_localization.txt"),
    "holo-2": _localize("holo2_localization.txt"),
}
