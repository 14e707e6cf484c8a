"""Pure reading of ``uiautomator dump`` output: the view tree, node bounds, the neutral
:class:`~agent.core.uitree.UINode` tree it becomes (``Env.ui_hierarchy``), and the boxes a
privacy snapshot must paint (``password="true"`` nodes, nodes whose text holds a secret).
No adb here: :mod:`envs.android.env` runs the dump and hands its text over."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from agent.core.coords import Frame, input_to_screen
from agent.core.errors import ActionFailedError
from agent.core.observation import Box
from agent.core.uitree import UINode

MAX_DEPTH = 200  # nodes nested deeper than this are left out of the neutral tree
_BOUNDS = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")


def parse_dump(out: str) -> ET.Element:
    """The ``<hierarchy>`` element in a dump's output (which may carry a status line)."""
    start, end = out.find("<hierarchy"), out.rfind("</hierarchy>")
    if start < 0 or end < 0:
        raise ActionFailedError(f"uiautomator dump gave no hierarchy: {out[:120]!r}")
    try:
        return ET.fromstring(out[start : end + len("</hierarchy>")])
    except ET.ParseError as err:
        raise ActionFailedError(f"uiautomator dump is not valid XML: {err}") from err


def node_bounds(node: ET.Element) -> tuple[int, int, int, int] | None:
    """A node's ``bounds="[x1,y1][x2,y2]"`` in device px, or None when malformed."""
    m = _BOUNDS.fullmatch((node.get("bounds") or "").strip())
    if not m:
        return None
    x1, y1, x2, y2 = (int(v) for v in m.groups())
    return x1, y1, x2, y2


def private_boxes(root: ET.Element, secrets: tuple[str, ...], frame: Frame) -> list[Box]:
    """Screenshot-px boxes of password nodes and of nodes whose text or description holds
    one of ``secrets``."""
    boxes: list[Box] = []
    for node in root.iter("node"):
        text = (node.get("text") or "") + " " + (node.get("content-desc") or "")
        if node.get("password") == "true" or any(v in text for v in secrets):
            box = screen_box(node, frame)
            if box:
                boxes.append(box)
    return boxes


def screen_box(node: ET.Element, frame: Frame) -> Box | None:
    """A node's bounds in screenshot px (device px through the coordinate module)."""
    b = node_bounds(node)
    if b is None:
        return None
    x1, y1 = input_to_screen(frame, b[0], b[1])
    x2, y2 = input_to_screen(frame, b[2], b[3])
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def to_uitree(root: ET.Element, frame: Frame, depth: int = 0) -> UINode:
    """The neutral tree of a dump (``root`` is its ``<hierarchy>``, whose role it keeps),
    bounds in screenshot px of ``frame``. A field is editable when its class is an
    ``EditText``."""
    role = root.get("class") or ("" if root.tag == "node" else root.tag)
    kids = root.findall("node") if depth < MAX_DEPTH else []
    return UINode(
        role=role,
        text=root.get("text") or "",
        description=root.get("content-desc") or "",
        bounds=screen_box(root, frame),
        clickable=root.get("clickable") == "true",
        editable="EditText" in (root.get("class") or ""),
        password=root.get("password") == "true",
        children=tuple(to_uitree(child, frame, depth + 1) for child in kids),
    )
