"""The neutral UI tree: what lies under a point (last drawn on top), what a tap presses,
the texts a target reader matches."""

from __future__ import annotations

from agent.core.uitree import UINode

FIELD = UINode("android.widget.EditText", bounds=(10, 10, 90, 30), editable=True, password=True)
LABEL = UINode("android.widget.TextView", "Pay now", bounds=(40, 50, 60, 60))
BUTTON = UINode("android.widget.Button", description="pay", bounds=(10, 40, 90, 70), clickable=True)
BUTTON = UINode(**{**BUTTON.__dict__, "children": (LABEL,)})
OVERLAY = UINode("android.view.View", "Ad", bounds=(0, 60, 100, 100))
ROOT = UINode("hierarchy", children=(FIELD, BUTTON, OVERLAY))


def test_the_path_goes_down_the_last_drawn_child() -> None:
    assert ROOT.path_at((50, 55)) == [BUTTON, LABEL]
    assert ROOT.path_at((50, 65)) == [OVERLAY]  # drawn after the button, so on top
    assert ROOT.path_at((200, 200)) == [] and ROOT.node_at((200, 200)) is None
    assert ROOT.node_at((50, 55)) is LABEL


def test_bounds_hold_the_left_and_top_edges_only() -> None:
    assert LABEL.contains((40, 50)) and not LABEL.contains((60, 55))
    assert not LABEL.contains((50, 60)) and not UINode().contains((0, 0))


def test_a_tap_presses_the_clickable_ancestor() -> None:
    assert ROOT.pressed_at((50, 55)) is BUTTON
    assert ROOT.pressed_at((50, 80)) is OVERLAY  # nothing clickable: the topmost node
    assert ROOT.pressed_at((-1, -1)) is None


def test_texts_leave_passwords_out_and_roles_shorten() -> None:
    secret_field = UINode(**{**FIELD.__dict__, "text": "hunter2"})
    tree = UINode(children=(secret_field, BUTTON))
    assert tree.texts() == ["pay", "Pay now"]
    assert [n.role for n in tree.walk()] == ["", FIELD.role, BUTTON.role, LABEL.role]
    assert BUTTON.short_role == "Button" and UINode().short_role is None
