"""The planner prompt: ours, stated in docs/guides/planning.md and recorded in each step.

The planner decides *what* to do next and names the element in words; a grounder finds it.
A text-only planner gets the screen as OCR lines with their positions (screen px).
"""

from __future__ import annotations

from collections.abc import Iterable

PLANNER_PROMPT = """\
You operate a computer for a user, one action at a time. You decide WHAT to do next; a
separate grounder finds WHERE. Never write coordinates: name the element in words, with its
visible label in double quotes.

Goal: {goal}

Answer with exactly one action, either as one instruction:
  click "Search flights"          double-click "report.txt"      right-click "Item"
  hover "Menu"                    click "Select" #1  (the 1st match in reading order)
  type "BOS" into "From"          type "hello" into "Search" and press enter
  press enter                     scroll down                    wait
  go to https://example.com       finish "the answer"
or as JSON: {{"type": "click", "target": "the \\"Search flights\\" button"}},
{{"type": "type", "text": "BOS", "target": "the \\"From\\" field", "clear": true}},
{{"type": "key", "keys": "enter"}}, {{"type": "finish", "status": "success", "answer": "..."}}.
"""

SCREEN_TEXT = "\nText on the screen (x, y of each line's centre, screen px):\n{lines}\n"
FEEDBACK = "\nYour previous action was not done: {feedback}\n"
HISTORY = "\nDone so far:\n{steps}\n"


def planner_prompt(
    goal: str,
    *,
    lines: Iterable[tuple[str, float, float]] | None = None,
    history: list[str] | None = None,
    feedback: str | None = None,
) -> str:
    """The planner's request text: the goal, the screen's OCR lines (text-only planners),
    what it did so far, and why its previous action was not done (if so)."""
    text = PLANNER_PROMPT.format(goal=goal)
    if history:
        text += HISTORY.format(steps="\n".join(f"{i + 1}. {h}" for i, h in enumerate(history)))
    if lines is not None:
        shown = "\n".join(f'"{t}" at ({x:.0f}, {y:.0f})' for t, x, y in lines)
        text += SCREEN_TEXT.format(lines=shown or "(none)")
    if feedback:
        text += FEEDBACK.format(feedback=feedback)
    return text
