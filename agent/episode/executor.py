"""One action, executed: gate → secret typing → ``env.step`` → the recorded action.

The agent's own loop (:mod:`agent.episode.loop`), a resume's fast-forward
(:mod:`agent.episode.resume`) and an externally driven episode
(:mod:`agent.interfaces.session`: Gymnasium, MCP) all execute actions here, so an action
is checked, typed, run and recorded the same way whoever chose it:

* the gate decides first; a gate that raises denies (policy ``gate-error``, fail closed). A
  denied action never reaches the env: its record carries the gate's decision and an
  ``error`` / ``error_code`` from :class:`~agent.core.errors.ActionDeniedError`, and the
  next observation is the same screen reporting the denial.
* a vendor safety check on the reply (:class:`~agent.core.model.SafetyCheck`: OpenAI's
  pending safety checks, Gemini's ``require_confirmation``) is then put to a person through
  the gate (``PolicyGate.confirm_required``: callback, terminal or ``--yes``; nobody to ask
  or no gate to ask with = denied, policy ``vendor-safety``). The record's
  ``vendor_confirmation`` holds the checks and the answer; :attr:`Executed.acknowledged`
  the approved ids, which the model may acknowledge to its vendor next request.
* secret placeholders are typed from :class:`~agent.safety.secrets.Secrets`; an unknown one
  is recorded as an error and nothing is typed.
* a ``zoom`` (an observation action, :data:`~agent.core.actions.OBSERVE_TYPES`) never reaches
  the env: its region becomes a :class:`~agent.core.crops.Crop` of this screen
  (:attr:`Executed.zoom`, recorded as the action's ``zoom``) for the caller to read next; a
  region with no pixel on screen is a CoordinateError in the record, the screen unchanged.
* otherwise the env steps; the record's ``result`` holds ``terminated`` / ``truncated`` and
  the env's ``error`` / ``error_code``.

Every recorded error goes through :func:`~agent.core.errors.describe_error`. The phase
timings go into the caller's ``timings``: ``gate_s``, ``execute_s`` and the env's own
``capture_s`` / ``decode_s`` / ``settle_s`` (``Observation.timings``; ``execute_s`` is the
env's ``step`` minus those), plus the env's counters (``capture_fallback``: screenshots
that took the slow path).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.core.actions import Action, Zoom, dump_action
from agent.core.coords import screen_to_input
from agent.core.crops import Crop, crop_record, region_crop
from agent.core.env import Env
from agent.core.errors import (
    ActionDeniedError,
    CoordinateError,
    NativeAgentError,
    TargetChangedError,
    cut,
    describe_error,
)
from agent.core.model import SafetyCheck
from agent.core.observation import Observation, StepResult
from agent.safety.enforce import enforce
from agent.safety.gate import VENDOR_RULE, Decision, Gate
from agent.safety.secrets import Secrets

ENV_PHASES = ("capture_s", "decode_s", "settle_s")
# counts an env may report on an observation, summed into the step's timings
ENV_COUNTERS = ("capture_fallback",)
GATE_ERROR = "gate-error"
VENDOR_POLICY = "vendor-safety"  # the policy named by a denied vendor safety check


@dataclass
class Executed:
    """What one action did: its record for the step line, the screen after it, and — when
    it reached the env — the env's :class:`StepResult`."""

    record: dict[str, Any]
    observation: Observation
    decision: Decision
    step: StepResult | None = None
    error: NativeAgentError | None = None  # why it never ran (denial, unknown secret)
    acknowledged: tuple[str, ...] = ()  # vendor safety checks a person approved
    zoom: Crop | None = None  # a zoom's crop: what the next model request reads

    @property
    def ran(self) -> bool:
        return self.step is not None

    @property
    def denied(self) -> bool:
        return isinstance(self.error, ActionDeniedError)

    @property
    def truncated(self) -> bool:
        return self.step is not None and self.step.truncated

    @property
    def terminated(self) -> bool:
        return self.step is not None and self.step.terminated


def env_phases(obs: Observation) -> dict[str, float]:
    """The env's timings of the capture behind ``obs`` (empty when it reports none)."""
    t = obs.timings  # filled by envs that time their capture
    return {k: float(t[k]) for k in ENV_PHASES if isinstance(t.get(k), (int, float))}


def add_time(timings: dict[str, float], key: str, seconds: float) -> None:
    timings[key] = timings.get(key, 0.0) + seconds


def _add_counters(timings: dict[str, float], obs: Observation) -> None:
    for k in ENV_COUNTERS:
        v = obs.timings.get(k)
        if isinstance(v, (int, float)) and v:
            add_time(timings, k, float(v))


def input_points(action: Action, env: Env, obs: Observation) -> dict[str, Any]:
    """The input-unit coordinates an action will be executed at (for the recording)."""
    frame = obs.frame()
    out: dict[str, Any] = {}
    for name in ("point", "start", "end"):
        p = getattr(action, name, None)
        if p is not None:
            try:
                out[name] = list(screen_to_input(frame, p[0], p[1]))
            except CoordinateError as err:
                out[name] = None
                out["error"] = str(err)
    return out


def check(gate: Gate, action: Action, env: Env, obs: Observation) -> Decision:
    """The gate's decision; a gate that raises denies (fail closed) — the one place."""
    try:
        return gate.check(action, env, obs)
    except Exception as err:
        return Decision("deny", GATE_ERROR, cut(describe_error(err)["error"], 300))


def confirm_vendor(
    gate: Gate, action: Action, env: Env, obs: Observation, checks: Sequence[SafetyCheck]
) -> Decision:
    """A person's answer to the vendor's safety checks, through the gate's
    ``confirm_required``; a gate without one (the gate is off) cannot ask, so it denies —
    a vendor check is never acknowledged by itself. A gate that raises denies."""
    reasons = [c.message or c.code or c.id for c in checks]
    ask = getattr(gate, "confirm_required", None)
    if ask is None:
        return Decision(
            "deny", VENDOR_POLICY, "the model's vendor asks for confirmation and the gate is "
            "off, so nobody can confirm: run with the gate on (and --yes, or a terminal)",
            VENDOR_RULE,
        )  # fmt: skip
    try:
        decision: Decision = ask(action, env, obs, reasons)
    except Exception as err:
        return Decision("deny", VENDOR_POLICY, cut(describe_error(err)["error"], 300), VENDOR_RULE)
    return decision


def observe_after(env: Env, obs: Observation, error: str, timings: dict[str, float]) -> Observation:
    """The screen after an action that did not run (the env may have died meanwhile)."""
    t0 = time.perf_counter()
    try:
        new = env.observe(last_action_error=error)
    except NativeAgentError:
        return obs.with_error(error)
    took, env_t = time.perf_counter() - t0, env_phases(new)
    for k, v in env_t.items():
        add_time(timings, k, v)
    add_time(timings, "capture_s", max(0.0, took - sum(env_t.values())))
    _add_counters(timings, new)
    return new


def execute(
    env: Env,
    gate: Gate,
    secrets: Secrets,
    obs: Observation,
    action: Action,
    timings: dict[str, float],
    checks: Sequence[SafetyCheck] = (),
) -> Executed:
    """Check, type and run ``action`` on the (masked) screen ``obs``; see the module doc.
    Phase timings are added to ``timings``; ``checks``: the vendor's safety checks on it."""
    rec: dict[str, Any] = {"action": dump_action(action), "input": input_points(action, env, obs)}
    t0 = time.perf_counter()
    decision = check(gate, action, env, obs)
    add_time(timings, "gate_s", time.perf_counter() - t0)
    rec["gate"] = decision.to_json()
    if decision.verdict != "allow":
        denied = ActionDeniedError(decision.policy, decision.reason)
        rec.update(describe_error(denied))
        # nothing ran: the same screen, reporting the denial
        return Executed(rec, obs.with_error(rec["error"]), decision, error=denied)
    if isinstance(action, Zoom):
        return _zoom(rec, obs, action, decision)
    acknowledged: tuple[str, ...] = ()
    if checks:
        t0 = time.perf_counter()
        vendor = confirm_vendor(gate, action, env, obs, checks)
        add_time(timings, "gate_s", time.perf_counter() - t0)
        rec["vendor_confirmation"] = {
            "checks": [{k: v for k, v in vars(c).items() if v is not None} for c in checks],
            **vendor.to_json(),
        }
        if vendor.verdict != "allow":
            denied = ActionDeniedError(VENDOR_POLICY, vendor.reason)
            rec.update(describe_error(denied))
            return Executed(rec, obs.with_error(rec["error"]), vendor, error=denied)
        acknowledged = tuple(c.id for c in checks)
    try:
        real = secrets.inject(action)
    except NativeAgentError as err:  # an unknown placeholder: never typed
        rec.update(describe_error(err))
        return Executed(rec, observe_after(env, obs, rec["error"], timings), decision, error=err)
    t0 = time.perf_counter()
    try:  # the verdict held until the input: the env armed, or the target read again
        if held := enforce(gate, env, real, decision):
            rec["held"] = held
    except TargetChangedError as err:  # it changed since the gate's read: nothing pressed
        rec.update(describe_error(err))
        return Executed(rec, observe_after(env, obs, rec["error"], timings), decision, error=err)
    finally:
        add_time(timings, "gate_s", time.perf_counter() - t0)
    t0 = time.perf_counter()
    res = env.step(real)
    took = time.perf_counter() - t0
    env_t = env_phases(res.observation)
    for k, v in env_t.items():
        add_time(timings, k, v)
    add_time(timings, "execute_s", max(0.0, took - sum(env_t.values())))
    _add_counters(timings, res.observation)
    rec["result"] = {
        "terminated": res.terminated,
        "truncated": res.truncated,
        **{k: res.info[k] for k in ("error", "error_code") if k in res.info},
    }
    return Executed(rec, res.observation, decision, step=res, acknowledged=acknowledged)


def _zoom(rec: dict[str, Any], obs: Observation, action: Zoom, decision: Decision) -> Executed:
    """A zoom, served here: the crop of ``obs`` its region names (the screen unchanged)."""
    w, h = obs.size
    try:
        crop = region_crop(w, h, action.region, upscale=action.scale)
    except CoordinateError as err:
        bad = CoordinateError(
            f"zoom: {err}; give a region [x1, y1, x2, y2] with x1 < x2 and y1 < y2 that "
            f"overlaps the {w}x{h} screenshot"
        )
        rec.update(describe_error(bad))
        return Executed(rec, obs.with_error(rec["error"]), decision, error=bad)
    rec["zoom"] = {"region": list(action.region), **crop_record(crop)}
    return Executed(rec, obs.with_error(None), decision, zoom=crop)
