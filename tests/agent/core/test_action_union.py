"""Every action type reaches every place that must know it: the gate's default rules, every
registered env, every model family's prompt format, the offline metrics (the checker is
tests/agent/core/union_check.py). A planted action type shows the checker names each gap."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import BaseModel

from agent.core.actions import (
    ACTION_TYPES,
    POINTER_TYPES,
    PRESS_TYPES,
    TERMINAL_TYPES,
    Point,
    Trait,
    action_class,
    traits_of,
    types_with,
    union_classes,
)
from agent.safety.policy import DEFAULT_RULES
from model.parsers import DIALECTS
from model.profiles import PROFILES
from model.prompts.templates import JSON_ACTIONS
from tests.agent.core.union_check import real_surfaces, union_gaps

ENVS = ("android", "browser", "desktop", "miniwob")
SURFACES = real_surfaces()
FORMATS = {f: ", ".join(SURFACES.families.get(f, ())) for f in SURFACES.formats}


def test_every_action_type_reaches_every_place() -> None:
    surfaces = real_surfaces()
    assert set(surfaces.envs) >= set(ENVS)  # the registry and entry points were read
    assert set(surfaces.formats) == set(DIALECTS)  # every dialect, used by a family or not
    for name, profile in PROFILES.items():  # each family under its dialect in every space
        for space in profile.action_spaces:
            assert name in surfaces.families[profile.format_for(space)]
    gaps = union_gaps(union_classes(), surfaces)
    assert not gaps, "action types that do not reach every place:\n" + "\n".join(gaps)


def test_derived_tables_follow_the_traits() -> None:
    declared = tuple(c.model_fields["type"].default for c in union_classes())
    pointing = {"click", "double_click", "right_click", "middle_click", "hover", "long_press"}
    assert declared == ACTION_TYPES
    assert pointing == POINTER_TYPES and {"finish", "call_user"} == TERMINAL_TYPES
    assert set(PRESS_TYPES) == set(types_with(Trait.PRESSES)) and "swipe" in PRESS_TYPES
    assert DEFAULT_RULES[0].actions == PRESS_TYPES
    assert action_class("drag").traits == traits_of("drag") >= {Trait.TWO_POINTS}
    assert traits_of("nope") == frozenset()


def test_the_json_prompt_names_every_type_it_offers() -> None:
    offers = real_surfaces().formats["json"].offers
    missing = [t for t in sorted(offers) if not re.search(rf"\b{t}\b", JSON_ACTIONS)]
    assert not missing, f"templates.JSON_ACTIONS does not show {missing}"


# ---- a planted action type: the checker names exactly its gaps -----------------------------


class SelectOption(BaseModel):
    """A pressing pointer action nobody knows yet."""

    traits: ClassVar[frozenset[Trait]] = frozenset(
        {Trait.POINTER, Trait.PRESSES, Trait.READS_TARGET}
    )
    type: Literal["select_option"] = "select_option"
    point: Point


class Ponder(BaseModel):
    """Declares nothing the gate can go by, and a TWO_POINTS with no points."""

    traits: ClassVar[frozenset[Trait]] = frozenset({Trait.TWO_POINTS})
    type: Literal["ponder"] = "ponder"


class Jab(BaseModel):
    """Presses, but the gate could never read what."""

    traits: ClassVar[frozenset[Trait]] = frozenset({Trait.PRESSES, Trait.TERMINAL})
    type: Literal["jab"] = "jab"


def _reach_gaps(t: str, envs: tuple[str, ...] = ENVS) -> list[str]:
    out = [f"{t}: the {e} env neither executes it nor declares it unsupported" for e in envs]
    out += [
        f"{t}: prompt format {f!r} (families: {u}) neither offers it nor declares it not offered"
        for f, u in FORMATS.items()
    ]
    return [*out, f"{t}: no scoring rule in agent.evaluation.metrics.SCORING"]


def test_a_planted_action_type_is_named_at_every_gap() -> None:
    gaps = union_gaps([*union_classes(), SelectOption, Ponder, Jab], real_surfaces())
    expected = [
        "select_option: declares PRESSES but no default gate rule with target phrases covers it",
        *_reach_gaps("select_option"),
        "ponder: declares TWO_POINTS but has no required 'start' field",
        "ponder: declares TWO_POINTS but has no required 'end' field",
        "ponder: the gate has no default for it: it declares none of "
        "INERT, NAVIGATES, PRESSES, TERMINAL",
        *_reach_gaps("ponder"),
        "jab: contradictory gate traits PRESSES, TERMINAL (declare exactly one)",
        *_reach_gaps("jab", envs=()),  # a terminal type reaches no env
    ]
    assert sorted(gaps) == sorted(expected)


def test_a_pressing_type_that_cannot_be_read_is_named() -> None:
    class Poke(BaseModel):
        traits: ClassVar[frozenset[Trait]] = frozenset({Trait.PRESSES})
        type: Literal["click"] = "click"  # the default rule covers "click": only the read

    gaps = union_gaps([Poke], real_surfaces())
    assert "click: declares PRESSES without READS_TARGET: the gate cannot read its target" in gaps
    assert not [g for g in gaps if "default gate rule" in g]
