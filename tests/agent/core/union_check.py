"""The action-union checker: does every action type reach every place that must know it?

For each action class (the union, or the union plus planted ones) it asks, from declared data
only (nothing is started):

* its traits agree with its fields (POINTER has a required ``point``, TWO_POINTS ``start`` and
  ``end``, TYPES_TEXT ``text``);
* the gate: a PRESSES type is covered by a default rule with target phrases and its target
  can be read (READS_TARGET); any other type declares its exemption (INERT, NAVIGATES or
  TERMINAL);
* every registered env executes it (``capabilities``) or declares it ``unsupported``
  (TERMINAL types are ended by ``Env.step`` and reach no env);
* every model family's prompt format offers it or declares it not offered;
* the offline metrics have a scoring rule for it.

Each gap is one line naming the type and the place, so a failing test says what to add where.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agent.core.actions import GATE_TRAITS, Trait, type_of
from agent.core.env import Env
from agent.evaluation.metrics import SCORING
from agent.safety.policy import DEFAULT_RULES, Rule
from envs.registry import available_envs, env_class
from model.parsers import FORMATS
from model.parsers.common import FormatSpec
from model.profiles import PROFILES

FIELDS = {Trait.POINTER: ("point",), Trait.TWO_POINTS: ("start", "end")}
FIELDS[Trait.TYPES_TEXT] = ("text",)


@dataclass(frozen=True)
class Surfaces:
    """Everything that must know every action type, as data."""

    rules: tuple[Rule, ...]  # the gate's default rules
    envs: Mapping[str, type[Env]]
    formats: Mapping[str, FormatSpec]  # the prompt formats model families use
    families: Mapping[str, tuple[str, ...]]  # format → the families that use it
    scoring: Mapping[str, Any]  # action type → how the offline metrics score it


def real_surfaces() -> Surfaces:
    """The project's own: default policy rules, every registered env (built-ins and entry
    points), every output dialect (and the families that use it, in each of their action
    spaces), the metrics' scoring table."""
    families: dict[str, list[str]] = {}
    for profile in PROFILES.values():
        for space in profile.action_spaces:
            names = families.setdefault(profile.format_for(space), [])
            if profile.name not in names:
                names.append(profile.name)
    return Surfaces(
        rules=DEFAULT_RULES,
        envs={name: env_class(name) for name in sorted(available_envs())},
        formats=dict(FORMATS),
        families={name: tuple(users) for name, users in families.items()},
        scoring=SCORING,
    )


def union_gaps(classes: Iterable[type[Any]], surfaces: Surfaces) -> list[str]:
    """Every gap, one line each (empty: every type reaches every place)."""
    classes = tuple(classes)
    types = [type_of(c) for c in classes]
    gaps: list[str] = []
    for cls, t in zip(classes, types, strict=True):
        traits = frozenset(getattr(cls, "traits", frozenset()))
        gaps += _field_gaps(cls, t, traits)
        gaps += _gate_gaps(t, traits, surfaces.rules)
        if Trait.TERMINAL not in traits:
            for name, env in surfaces.envs.items():
                gaps += _env_gaps(t, name, env)
        for name, spec in surfaces.formats.items():
            users = ", ".join(surfaces.families.get(name, ()))
            where = f"prompt format {name!r} (families: {users})"
            if t in spec.offers and t in spec.not_offered:
                gaps.append(f"{t}: {where} both offers it and declares it not offered")
            elif t not in spec.offers and t not in spec.not_offered:
                gaps.append(f"{t}: {where} neither offers it nor declares it not offered")
        if t not in surfaces.scoring:
            gaps.append(f"{t}: no scoring rule in agent.evaluation.metrics.SCORING")
    known = set(types)
    for name, env in surfaces.envs.items():
        for stray in sorted((env.capabilities | env.unsupported) - known):
            gaps.append(f"{stray}: the {name} env names a type that is not an action")
    for name, spec in surfaces.formats.items():
        for stray in sorted((spec.offers | spec.not_offered) - known):
            gaps.append(f"{stray}: prompt format {name!r} names a type that is not an action")
    for stray in sorted(set(surfaces.scoring) - known):
        gaps.append(f"{stray}: metrics SCORING names a type that is not an action")
    return gaps


def _field_gaps(cls: type[Any], t: str, traits: frozenset[Trait]) -> list[str]:
    fields = getattr(cls, "model_fields", {})
    out = []
    for trait, names in FIELDS.items():
        for name in names:
            if trait in traits and not (name in fields and fields[name].is_required()):
                out.append(f"{t}: declares {trait.name} but has no required {name!r} field")
    return out


def _gate_gaps(t: str, traits: frozenset[Trait], rules: tuple[Rule, ...]) -> list[str]:
    declared = traits & GATE_TRAITS
    if not declared:
        names = ", ".join(sorted(x.name for x in GATE_TRAITS))
        return [f"{t}: the gate has no default for it: it declares none of {names}"]
    if len(declared) > 1:
        names = ", ".join(sorted(x.name for x in declared))
        return [f"{t}: contradictory gate traits {names} (declare exactly one)"]
    if Trait.PRESSES not in traits:
        return []
    out = []
    covered = any(
        r.target and r.verdict != "allow" and (not r.actions or t in r.actions) for r in rules
    )
    if not covered:
        out.append(f"{t}: declares PRESSES but no default gate rule with target phrases covers it")
    if Trait.READS_TARGET not in traits:
        out.append(f"{t}: declares PRESSES without READS_TARGET: the gate cannot read its target")
    return out


def _env_gaps(t: str, name: str, env: type[Env]) -> list[str]:
    executes, refuses = t in env.capabilities, t in env.unsupported
    if executes and refuses:
        return [f"{t}: the {name} env both executes it and declares it unsupported"]
    if not (executes or refuses):
        return [f"{t}: the {name} env neither executes it nor declares it unsupported"]
    return []
