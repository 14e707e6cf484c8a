"""The judge prompts: ours, stated in docs/guides/planning.md (``## Best-of-N``) and recorded
in every verdict. The judge answers with one candidate's number; a vLLM-served judge is
constrained to the valid numbers (``ModelRequest.constraint = {"choice": [...]}``)."""

from __future__ import annotations

from collections.abc import Sequence

STEP_JUDGE_PROMPT = """\
You judge a computer-use agent's next action. Several candidate actions were proposed for
the same moment; the screenshot shows the screen now.

Goal: {goal}
{context}
Candidates:
{candidates}

Which candidate brings the agent closest to the goal? Answer with its number only ({first}
to {last})."""

RUN_JUDGE_PROMPT = """\
You judge attempts of a computer-use agent at one task. Every attempt started from the same
screen (the screenshot); each is told step by step.

Goal: {goal}
{context}
Attempts:
{candidates}

Which attempt best achieved the goal? Answer with its number only ({first} to {last})."""

PROMPTS = {"step": STEP_JUDGE_PROMPT, "run": RUN_JUDGE_PROMPT}


def judge_prompt(
    goal: str, candidates: Sequence[str], *, kind: str = "step", context: str | None = None
) -> str:
    """The judge's request text: the goal, optional context (what was done so far), and the
    candidates numbered from 0 (``[0] ...``, an attempt's narration on its own lines)."""
    shown = "\n".join(f"[{i}] {c}" for i, c in enumerate(candidates))
    return PROMPTS[kind].format(
        goal=goal,
        context=f"{context.rstrip()}\n" if context else "",
        candidates=shown,
        first=0,
        last=len(candidates) - 1,
    )
