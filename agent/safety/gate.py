"""The action gate between parser and env: allow, confirm or deny each action.

Every decision is recorded in the step line; a denied action is never executed and its
reason becomes ``last_action_error`` for the model. The gate is the same for every env: a
:class:`~agent.safety.policy.Policy` decides from the action type, the text of what it would press
(:mod:`agent.safety.targets`), the URL and the app; ``confirm`` asks a person — on the
terminal when stdin is a TTY, or through a Python callback — and is denied when nobody can
be asked (non-interactive) unless the run says ``--yes``.
"""

from __future__ import annotations

import select
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from agent.core.actions import Action, Trait, traits_of
from agent.core.env import Env
from agent.core.errors import EnvClosedError, cut, describe_error
from agent.core.observation import Observation
from agent.safety.policy import Policy, default_policy
from agent.safety.targets import UNREADABLE, Target, TargetReader
from agent.safety.urls import link_destination

Verdict = Literal["allow", "deny"]
CONFIRM_TIMEOUT_S = 300.0
VENDOR_RULE = "vendor-safety-check"  # the rule name of a vendor-required confirmation


@dataclass(frozen=True)
class Decision:
    """The final verdict, which policy and rule gave it, why, what was seen, who confirmed."""

    verdict: Verdict
    policy: str = "allow-all"
    reason: str | None = None
    rule: str | None = None
    target: dict[str, Any] | None = None
    confirmation: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class Gate(Protocol):
    def check(self, action: Action, env: Env, obs: Observation) -> Decision: ...


class AllowAll:
    """No policy: every action runs (the recording still says so)."""

    def check(self, action: Action, env: Env, obs: Observation) -> Decision:
        return Decision("allow")


@dataclass(frozen=True)
class ConfirmRequest:
    """What a person is asked to approve."""

    action: Action
    reason: str
    rule: str | None = None
    target: Target | None = None
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def prompt(self) -> str:
        what: str = self.action.type
        if self.target is not None and self.target.text:
            what += f" on {cut(self.target.text, 80)!r}"
        where = f" at {cut(self.url, 80)}" if self.url else ""
        return f"The agent wants to {what}{where} — {self.reason}. Allow it?"


ConfirmFn = Callable[[ConfirmRequest], bool]
ConfirmMode = Literal["auto", "tty", "yes", "no"]


def tty_confirm(request: ConfirmRequest, timeout: float = CONFIRM_TIMEOUT_S) -> bool:
    """Ask on the terminal (stderr prompt, stdin answer); no answer in time means no."""
    print(f"\n[gate] {request.prompt()} [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        ready, _, _ = select.select([sys.stdin], [], [], timeout)
        answer = sys.stdin.readline() if ready else ""
    except (OSError, ValueError):
        answer = ""
    if not answer:
        print("(no answer: denied)", file=sys.stderr, flush=True)
    return answer.strip().lower() in ("y", "yes")


class PolicyGate:
    """Enforces a :class:`Policy`; ``confirm`` is a callback or a mode: ``auto`` (the
    terminal when stdin is a TTY, else the policy's ``non_interactive`` verdict), ``tty``,
    ``yes`` (auto-confirm) or ``no`` (auto-deny). ``dispatch_guard`` (on by default) holds
    an allowed verdict until the input (:mod:`agent.safety.enforce`); off, the env presses
    whatever is there by then."""

    def __init__(
        self,
        policy: Policy | None = None,
        *,
        confirm: ConfirmFn | ConfirmMode = "auto",
        reader: TargetReader | None = None,
        dispatch_guard: bool = True,
    ) -> None:
        self.policy = policy or default_policy()
        self.confirm = confirm
        self.reader = reader or TargetReader()
        self.dispatch_guard = dispatch_guard

    def wire_verdict(self) -> Callable[[str], str | None] | None:
        """The URL policy for every request the browser makes (``Env.filter_requests``), or
        None when the policy lists no URLs (then nothing needs routing)."""
        policy = self.policy
        if not (policy.allow_urls or policy.deny_urls):
            return None
        return policy.url_verdict

    def describe(self) -> dict[str, Any]:
        mode = self.confirm if isinstance(self.confirm, str) else "callback"
        out = {"policy": self.policy.to_json(), "confirm": mode}
        return out if self.dispatch_guard else {**out, "dispatch_guard": False}

    def check(self, action: Action, env: Env, obs: Observation) -> Decision:
        """Never raises for a bad action or page: every failure is a recorded decision
        (an env that died is left for ``env.step`` to report as truncated)."""
        try:
            return self._check(action, env, obs)
        except EnvClosedError:
            return Decision("allow", self.policy.name, "the env is gone; step reports it")
        except Exception as err:  # fail closed: a gate bug must not let an action through
            why = f"the gate failed ({describe_error(err)['error']})"
            return Decision("deny", self.policy.name, cut(why, 300))

    def _check(self, action: Action, env: Env, obs: Observation) -> Decision:
        p, t = self.policy, action.type
        url = obs.url
        traits = traits_of(t)
        if url and Trait.ESCAPES not in traits and (why := p.url_verdict(url)):
            return self._deny(f"the current page is not allowed: {why}", "urls")
        if action.type == "navigate" and (why := p.url_verdict(action.url)):
            return self._deny(why, "urls")
        if action.type == "open_app" and (why := p.app_verdict(action.name)):
            return self._deny(why, "apps")
        target: Target | None = None
        link_check = bool(p.allow_urls or p.deny_urls) and getattr(action, "point", None)
        if Trait.READS_TARGET in traits and (p.needs_target(t) or link_check):
            # the pixel reading (OCR) only when a rule matches the target's text
            self.reader.pixels = p.pixel_target and p.needs_target(t)
            target = self.reader.read(action, env, obs)
        tj = target.to_json() if target is not None else None
        link = link_destination(target.href, url) if target is not None and target.href else None
        if link is not None and (why := p.destination_verdict(link)):
            return self._deny(f"the link goes to a URL that is not allowed: {why}", "urls", tj)
        text = target.text if target is not None else None
        verdict, rule, phrase = p.rule_for(t, text, url, obs.app)
        name = rule.name if rule else None
        why = _why(rule, phrase, text)
        unreadable = target is not None and target.source == UNREADABLE
        if verdict == "allow" and unreadable and Trait.PRESSES in traits:
            verdict, name = p.unknown_target, "unknown-target"
            why = f"what this {t} presses cannot be read ({target.error if target else ''})"
        if verdict == "allow":
            return Decision("allow", p.name, why if rule else None, name, tj)
        if verdict == "deny":
            return self._deny(why, name, tj)
        request = ConfirmRequest(action, why, name, target, url)
        ok, by = self._ask(request)
        reason = f"{why}; {'confirmed' if ok else 'not confirmed'} ({by})"
        return Decision("allow" if ok else "deny", p.name, reason, name, tj, {"by": by, "ok": ok})

    def confirm_required(
        self, action: Action, env: Env, obs: Observation, reasons: list[str]
    ) -> Decision:
        """A confirmation the model's vendor requires (``reasons``: its safety checks):
        always asked — callback, terminal, ``--yes`` — whatever the policy says of the
        action; with nobody to ask the policy's ``non_interactive`` verdict holds (deny by
        default). Never raises (a failing callback denies)."""
        why = "the model's vendor asks for confirmation: " + cut("; ".join(reasons), 300)
        ok, by = self._ask(ConfirmRequest(action, why, VENDOR_RULE, url=obs.url))
        reason = f"{why}; {'confirmed' if ok else 'not confirmed'} ({by})"
        return Decision(
            "allow" if ok else "deny", self.policy.name, reason, VENDOR_RULE, None,
            {"by": by, "ok": ok},
        )  # fmt: skip

    def _ask(self, request: ConfirmRequest) -> tuple[bool, str]:
        c = self.confirm
        if callable(c):
            try:
                return bool(c(request)), "callback"
            except Exception as err:
                return False, f"callback failed: {type(err).__name__}"
        if c == "yes":
            return True, "--yes"
        if c == "no":
            return False, "auto-deny"
        if c == "tty" or _interactive():
            return tty_confirm(request), "terminal"
        return self.policy.non_interactive == "allow", "non-interactive: nobody to ask"

    def _deny(self, reason: str, rule: str | None, target: dict | None = None) -> Decision:
        return Decision("deny", self.policy.name, reason, rule, target)


def _interactive() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _why(rule: Any, phrase: str | None, text: str | None) -> str:
    if rule is None:
        return "no rule matched"
    base = rule.reason or f"rule {rule.name!r}"
    if phrase is not None and text is not None:
        return f"the target {cut(text, 80)!r} matches {phrase!r}: {base}"
    return base


def make_gate(
    policy: Policy | None = None,
    *,
    enabled: bool = True,
    confirm: ConfirmFn | ConfirmMode = "auto",
    reader: TargetReader | None = None,
    dispatch_guard: bool = True,
) -> Gate:
    """The gate a run uses: :class:`AllowAll` when disabled, else a :class:`PolicyGate`."""
    if not enabled:
        return AllowAll()
    return PolicyGate(policy, confirm=confirm, reader=reader, dispatch_guard=dispatch_guard)
