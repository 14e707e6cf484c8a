"""A neutral UI tree: the view hierarchy an env hands over (``Env.ui_hierarchy``), in the
vocabulary's terms, so nothing above an env reads a platform's own format.

An env converts its native tree (Android: uiautomator's XML, :mod:`envs.android.hierarchy`)
into :class:`UINode` values with ``bounds`` in **screenshot pixels**, the unit of every
point an action carries. The tree is read-only; the helpers here walk it and find what lies
under a point as the platform draws it (later siblings are drawn on top of earlier ones).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

Box = tuple[float, float, float, float]  # screenshot px: left, top, right, bottom


@dataclass(frozen=True)
class UINode:
    """One node: ``role`` is the platform's class or role name (``android.widget.Button``),
    ``text`` what it shows, ``description`` its accessible description (Android's
    ``content-desc``); ``bounds`` is None where the platform gave none that parse."""

    role: str = ""
    text: str = ""
    description: str = ""
    bounds: Box | None = None
    clickable: bool = False
    editable: bool = False
    password: bool = False
    children: tuple[UINode, ...] = ()

    @property
    def short_role(self) -> str | None:
        """The last dotted part of ``role`` (``Button``), None when there is no role."""
        return self.role.rsplit(".", 1)[-1] or None

    def contains(self, point: tuple[float, float]) -> bool:
        """Whether ``point`` lies in ``bounds`` (left/top edges in, right/bottom out)."""
        b = self.bounds
        return b is not None and b[0] <= point[0] < b[2] and b[1] <= point[1] < b[3]

    def walk(self) -> Iterator[UINode]:
        """This node and every node below it, depth first, in drawing order."""
        stack: list[UINode] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def path_at(self, point: tuple[float, float]) -> list[UINode]:
        """The nodes from a child of this one down to the topmost leaf under ``point``: at
        each level the last-drawn child containing it (empty when no child does)."""
        path: list[UINode] = []
        node = self
        while True:
            below = next((c for c in reversed(node.children) if c.contains(point)), None)
            if below is None:
                return path
            path.append(below)
            node = below

    def node_at(self, point: tuple[float, float]) -> UINode | None:
        """The topmost node under ``point`` (None when nothing below this one is there)."""
        path = self.path_at(point)
        return path[-1] if path else None

    def pressed_at(self, point: tuple[float, float]) -> UINode | None:
        """What a tap at ``point`` presses: the innermost clickable node on the path to the
        topmost one, else the topmost one itself."""
        path = self.path_at(point)
        return next((n for n in reversed(path) if n.clickable), path[-1] if path else None)

    def texts(self) -> list[str]:
        """The non-empty texts and descriptions of this node and those below it, in order;
        password fields' are left out."""
        found: list[str] = []
        for node in self.walk():
            if node.password:
                continue
            for value in (node.text, node.description):
                if value.strip():
                    found.append(value.strip())
        return found
