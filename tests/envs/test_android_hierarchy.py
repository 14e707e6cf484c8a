"""uiautomator's dump becomes the neutral UI tree: bounds in screenshot px through the
coordinate module, flags from the attributes, a hostile depth cut off instead of a crash."""

from __future__ import annotations

from agent.core.coords import Frame
from envs.android.hierarchy import MAX_DEPTH, parse_dump, to_uitree

DUMP = (
    "junk<hierarchy rotation='0'><node class='android.widget.FrameLayout' "
    "bounds='[0,0][1080,2400]'>"
    "<node class='android.widget.EditText' password='true' clickable='true' text='' "
    "bounds='[100,600][980,760]'/>"
    "<node class='android.widget.Button' clickable='true' content-desc='pay' "
    "bounds='[100,1000][980,1200]'><node text='Pay now' bounds='[400,1060][680,1140]'/></node>"
    "<node text='broken' bounds='[1,2]'/></node></hierarchy>\nUI dumped"
)


def test_the_dump_becomes_neutral_nodes_in_screenshot_px() -> None:
    frame = Frame.for_screen(540, 1200, scale=0.5)  # screenshot at half the device px
    root = to_uitree(parse_dump(DUMP), frame)
    assert root.role == "hierarchy" and root.bounds is None
    (layout,) = root.children
    field, button, broken = layout.children
    assert layout.bounds == (0, 0, 540, 1200)
    assert (field.editable, field.password, field.clickable) == (True, True, True)
    assert (button.role, button.description, button.bounds) == (
        "android.widget.Button",
        "pay",
        (50, 500, 490, 600),
    )
    assert button.children[0].text == "Pay now" and not button.editable
    assert broken.bounds is None and broken.text == "broken"
    assert root.pressed_at((270, 540)) is button  # the label's clickable ancestor


def test_a_rotated_screen_turns_the_boxes() -> None:
    frame = Frame.for_screen(2400, 1080, rotation=90)
    root = to_uitree(parse_dump(DUMP), frame)
    x1, y1, x2, y2 = root.children[0].children[1].bounds or (0, 0, 0, 0)
    assert x2 - x1 == 200 and y2 - y1 == 880  # the button's 880x200 device box, turned


def test_a_hostile_depth_is_cut_not_a_crash() -> None:
    deep = "<hierarchy>" + "<node bounds='[0,0][9,9]'>" * 3000 + "</node>" * 3000
    root = to_uitree(parse_dump(deep + "</hierarchy>"), Frame.for_screen(9, 9))
    depth, node = 0, root
    while node.children:
        depth, node = depth + 1, node.children[0]
    assert depth == MAX_DEPTH
    assert len(root.path_at((1, 1))) == MAX_DEPTH
