"""Prompt texts per family, kept as close to each model's published prompt as possible
(models follow the exact wording they were trained with).

* UI-TARS v1 / 1.5: the ``COMPUTER_USE`` / ``MOBILE_USE`` templates of the UI-TARS repo;
* Qwen2.5-VL: the cookbook's ``computer_use`` / ``mobile_use`` function-call system prompt
  (qwen-agent's Nous template), with the REAL screen size in the model's coordinate space;
  one deliberate addition: ``start_coordinate`` for ``left_click_drag`` (our envs do not
  track a cursor, so a drag names both ends);
* Qwen2-VL / Qwen-VL: no published agent prompt; a grounding instruction in their
  reference/box syntax (coordinates 0–1000);
* json: the action schema of :mod:`agent.core.actions`, points in screenshot pixels.
"""

from __future__ import annotations

import json

from agent.core.coords import Frame

UI_TARS_HEAD = (
    """You are a GUI agent. You are given a task and your action history, with \
screenshots. You need to perform the next action to complete the task. """
    + """

## Output Format
```
Thought: ...
Action: ...
```

## Action Space
"""
)

UI_TARS_V1_COMPUTER = """
click(start_box='<|box_start|>(x1,y1)<|box_end|>')
left_double(start_box='<|box_start|>(x1,y1)<|box_end|>')
right_single(start_box='<|box_start|>(x1,y1)<|box_end|>')
drag(start_box='<|box_start|>(x1,y1)<|box_end|>', end_box='<|box_start|>(x3,y3)<|box_end|>')
hotkey(key='')
type(content='') #If you want to submit your input, use "\\n" at the end of `content`.
scroll(start_box='<|box_start|>(x1,y1)<|box_end|>', direction='down or up or right or left')
wait() #Sleep for 5s and take a screenshot to check for any changes.
finished()
call_user() # Submit the task and call the user when the task is unsolvable, or when you need \
the user's help.
"""

UI_TARS_V1_MOBILE = """click(start_box='<|box_start|>(x1,y1)<|box_end|>')
long_press(start_box='<|box_start|>(x1,y1)<|box_end|>', time='')
type(content='')
scroll(start_box='<|box_start|>(x1,y1)<|box_end|>', end_box='<|box_start|>(x3,y3)<|box_end|>')
press_home()
press_back()
finished(content='') # Submit the task regardless of whether it succeeds or fails.
"""

UI_TARS_15_COMPUTER = (
    """
click(start_box='<|box_start|>(x1,y1)<|box_end|>')
left_double(start_box='<|box_start|>(x1,y1)<|box_end|>')
right_single(start_box='<|box_start|>(x1,y1)<|box_end|>')
drag(start_box='<|box_start|>(x1,y1)<|box_end|>', end_box='<|box_start|>(x3,y3)<|box_end|>')
hotkey(key='ctrl c') # Split keys with a space and use lowercase. Also, do not use more than 3 \
keys in one hotkey action.
type(content='xxx') # Use escape characters \\\\', \\\\\\", and \\\\n in content part to ensure \
we can parse the content in normal python string format. If you want to submit your input, use \
\\\\n at the end of content. """
    + """
scroll(start_box='<|box_start|>(x1,y1)<|box_end|>', direction='down or up or right or left') # \
Show more information on the `direction` side.
wait() #Sleep for 5s and take a screenshot to check for any changes.
finished(content='xxx') # Use escape characters \\\\', \\\\", and \\\\n in content part to ensure \
we can parse the content in normal python string format.
"""
)

UI_TARS_15_MOBILE = """click(start_box='<|box_start|>(x1,y1)<|box_end|>')
long_press(start_box='<|box_start|>(x1,y1)<|box_end|>')
type(content='') #If you want to submit your input, use "\\n" at the end of `content`.
scroll(start_box='<|box_start|>(x1,y1)<|box_end|>', direction='down or up or right or left')
open_app(app_name='')
drag(start_box='<|box_start|>(x1,y1)<|box_end|>', end_box='<|box_start|>(x3,y3)<|box_end|>')
press_home()
press_back()
finished(content='xxx') # Use escape characters \\\\', \\\\", and \\\\n in content part to \
ensure we can parse the content in normal python string format.
"""

UI_TARS_NOTE_V1 = "- Summarize your next action (with its target element) in one sentence in \
`Thought` part."
UI_TARS_NOTE_15 = "- Write a small plan and finally summarize your next action (with its target \
element) in one sentence in `Thought` part."


def ui_tars_prompt(task: str, *, v15: bool, mobile: bool, language: str = "English") -> str:
    """The UI-TARS user prompt: head, action space, notes, then the instruction."""
    if v15:
        space = UI_TARS_15_MOBILE if mobile else UI_TARS_15_COMPUTER
        note = UI_TARS_NOTE_15
    else:
        space = UI_TARS_V1_MOBILE if mobile else UI_TARS_V1_COMPUTER
        note = UI_TARS_NOTE_V1
    return (
        f"{UI_TARS_HEAD}{space}\n\n## Note\n- Use {language} in `Thought` part.\n{note}\n\n"
        f"## User Instruction\n{task}\n"
    )


# ---- Qwen2.5-VL function calling ---------------------------------------------------------

_COMPUTER_DESC = (
    "Use a mouse and keyboard to interact with a computer, and take screenshots.\n"
    "* This is an interface to a desktop GUI. You do not have access to a terminal or "
    "applications menu. You must click on desktop icons to start applications.\n"
    "* Some applications may take time to start or process actions, so you may need to wait "
    "and take successive screenshots to see the results of your actions. E.g. if you click on "
    "Firefox and a window doesn't open, try wait and taking another screenshot.\n"
    "* The screen's resolution is {w}x{h}.\n"
    "* Whenever you intend to move the cursor to click on an element like an icon, you should "
    "consult a screenshot to determine the coordinates of the element before moving the "
    "cursor.\n"
    "* If you tried clicking on a program or link but it failed to load, even after waiting, "
    "try adjusting your cursor position so that the tip of the cursor visually falls on the "
    "element that you want to click.\n"
    "* Make sure to click any buttons, links, icons, etc with the cursor tip in the center of "
    "the element. Don't click boxes on their edges unless asked."
)
_COMPUTER_ACTIONS = (
    ("key", "Performs key down presses on the arguments passed in order, then performs key "
     "releases in reverse order."),
    ("type", "Type a string of text on the keyboard."),
    ("mouse_move", "Move the cursor to a specified (x, y) pixel coordinate on the screen."),
    ("left_click", "Click the left mouse button."),
    ("left_click_drag", "Click and drag the cursor from `start_coordinate` to a specified "
     "(x, y) pixel coordinate on the screen."),
    ("right_click", "Click the right mouse button."),
    ("middle_click", "Click the middle mouse button."),
    ("double_click", "Double-click the left mouse button."),
    ("scroll", "Performs a scroll of the mouse scroll wheel."),
    ("wait", "Wait specified seconds for the change to happen."),
    ("terminate", "Terminate the current task and report its completion status."),
)  # fmt: skip
_MOBILE_DESC = (
    "Use a touchscreen to interact with a mobile device, and take screenshots.\n"
    "* This is an interface to a mobile device with touchscreen. You can perform actions like "
    "clicking, typing, swiping, etc.\n"
    "* Some applications may take time to start or process actions, so you may need to wait "
    "and take successive screenshots to see the results of your actions.\n"
    "* The screen's resolution is {w}x{h}.\n"
    "* Make sure to click any buttons, links, icons, etc with the cursor tip in the center of "
    "the element. Don't click boxes on their edges unless asked."
)
_MOBILE_ACTIONS = (
    ("key", "Perform a key event on the mobile device.\n    - This supports adb's `keyevent` "
     "syntax.\n    - Examples: \"volume_up\", \"volume_down\", \"power\", \"camera\", "
     "\"clear\"."),
    ("click", "Click the point on the screen with coordinate (x, y)."),
    ("long_press", "Press the point on the screen with coordinate (x, y) for specified "
     "seconds."),
    ("swipe", "Swipe from the starting point with coordinate (x, y) to the end point with "
     "coordinates2 (x2, y2)."),
    ("type", "Input the specified text into the activated input box."),
    ("system_button", "Press the system button."),
    ("open", "Open an app on the device."),
    ("wait", "Wait specified seconds for the change to happen."),
    ("terminate", "Terminate the current task and report its completion status."),
)  # fmt: skip

_XY = "(x, y): The x (pixels from the left edge) and y (pixels from the top edge) coordinates"


def _action_param(actions: tuple[tuple[str, str], ...]) -> dict[str, object]:
    lines = "\n".join(f"* `{name}`: {desc}" for name, desc in actions)
    return {
        "description": f"The action to perform. The available actions are:\n{lines}",
        "enum": [name for name, _ in actions],
        "type": "string",
    }


def computer_use_tool(w: int, h: int) -> dict[str, object]:
    props: dict[str, object] = {
        "action": _action_param(_COMPUTER_ACTIONS),
        "keys": {"description": "Required only by `action=key`.", "type": "array"},
        "text": {"description": "Required only by `action=type`.", "type": "string"},
        "coordinate": {
            "description": f"{_XY} to move the mouse to. Required only by `action=mouse_move`, "
            "`action=left_click_drag`, `action=left_click`, `action=right_click`, "
            "`action=double_click`.",
            "type": "array",
        },
        "start_coordinate": {
            "description": f"{_XY} where a drag starts. Required only by "
            "`action=left_click_drag`.",
            "type": "array",
        },
        "pixels": {
            "description": "The amount of scrolling to perform. Positive values scroll up, "
            "negative values scroll down. Required only by `action=scroll`.",
            "type": "number",
        },
        "time": {"description": "The seconds to wait. Required only by `action=wait`.",
                 "type": "number"},
        "status": {"description": "The status of the task. Required only by "
                   "`action=terminate`.", "type": "string", "enum": ["success", "failure"]},
    }  # fmt: skip
    return _tool("computer_use", _COMPUTER_DESC.format(w=w, h=h), props)


def mobile_use_tool(w: int, h: int) -> dict[str, object]:
    props: dict[str, object] = {
        "action": _action_param(_MOBILE_ACTIONS),
        "coordinate": {
            "description": f"{_XY} to move the mouse to. Required only by `action=click`, "
            "`action=long_press`, and `action=swipe`.",
            "type": "array",
        },
        "coordinate2": {
            "description": f"{_XY} to move the mouse to. Required only by `action=swipe`.",
            "type": "array",
        },
        "text": {"description": "Required only by `action=key`, `action=type`, and "
                 "`action=open`.", "type": "string"},
        "time": {"description": "The seconds to wait. Required only by `action=long_press` and "
                 "`action=wait`.", "type": "number"},
        "button": {"description": "Back means returning to the previous interface, Home means "
                   "returning to the desktop, Menu means opening the application background "
                   "menu, and Enter means pressing the enter. Required only by "
                   "`action=system_button`", "enum": ["Back", "Home", "Menu", "Enter"],
                   "type": "string"},
        "status": {"description": "The status of the task. Required only by "
                   "`action=terminate`.", "type": "string", "enum": ["success", "failure"]},
    }  # fmt: skip
    return _tool("mobile_use", _MOBILE_DESC.format(w=w, h=h), props)


def _tool(name: str, description: str, props: dict[str, object]) -> dict[str, object]:
    return {
        "type": "function",
        "function": {
            "name_for_human": name,
            "name": name,
            "description": description,
            "parameters": {"properties": props, "required": ["action"], "type": "object"},
            "args_format": "Format the arguments as a JSON object.",
        },
    }


def qwen25_system(w: int, h: int, *, mobile: bool) -> str:
    """qwen-agent's function-calling system prompt with one tool, as the cookbook renders it."""
    tool = mobile_use_tool(w, h) if mobile else computer_use_tool(w, h)
    return (
        "You are a helpful assistant.\n\n# Tools\n\nYou may call one or more functions to "
        "assist with the user query.\n\nYou are provided with function signatures within "
        "<tools></tools> XML tags:\n<tools>\n"
        f"{json.dumps(tool, ensure_ascii=False)}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments within "
        "<tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


# ---- grounding-only models and JSON --------------------------------------------------------

_GROUNDING_VERBS = (
    'click, double click, right click, middle click, hover, long press, type "text" into, '
    "scroll up|down|left|right at, drag (then a second box to drag to)"
)


def grounding_instruction(task: str, *, ref: tuple[str, str], box: tuple[str, str]) -> str:
    """Qwen-VL / Qwen2-VL: one line, a verb then the grounded target (0–1000 coordinates)."""
    example = f'{ref[0]}the "OK" button{ref[1]}{box[0]}(x1,y1),(x2,y2){box[1]}'
    return (
        f"You operate software from screenshots. Task: {task}\n"
        "Answer with the next action on one line: an action verb followed by the target "
        f"element grounded as {example}, coordinates normalized to 0-1000 of the screenshot. "
        f"Verbs: {_GROUNDING_VERBS}."
    )


JSON_ACTIONS = (
    '{"type": "click", "point": [x, y]} (also double_click, right_click, middle_click, hover, '
    "long_press)\n"
    '{"type": "type", "text": "...", "point": [x, y], "enter": false} (point optional)\n'
    '{"type": "key", "keys": "ctrl+c"}\n'
    '{"type": "scroll", "direction": "down", "amount": 5, "point": [x, y]}\n'
    '{"type": "drag", "start": [x, y], "end": [x, y]}\n'
    '{"type": "swipe", "start": [x, y], "end": [x, y]}\n'
    '{"type": "navigate", "url": "..."}  {"type": "back"}  {"type": "home"}\n'
    '{"type": "open_app", "name": "..."}  {"type": "wait", "seconds": 1}\n'
    '{"type": "finish", "status": "success", "answer": "..."}  '
    '{"type": "call_user", "question": "..."}'
)


def coordinate_note(frame: Frame) -> str:
    """How the model must write points, in its convention and with the real sizes."""
    if frame.convention == "screen":
        return f"Points are [x, y] in pixels of the {frame.screen_w}x{frame.screen_h} screenshot."
    if frame.convention == "abs":
        return f"Points are [x, y] in pixels of the {frame.input_w}x{frame.input_h} image."
    if frame.convention == "norm1":
        return "Points are [x, y] normalized to 0-1 of the image width and height."
    return "Points are [x, y] normalized to 0-1000 of the image width and height."


def json_system(frame: Frame) -> str:
    return (
        "You are a GUI agent: you operate software from screenshots, one action at a time. "
        "Answer with your reasoning in one short sentence, then exactly one JSON object "
        '{"thought": "...", "action": {...}} where the action is one of:\n'
        f"{JSON_ACTIONS}\n{coordinate_note(frame)} Use finish when the task is done."
    )
