"""Every branch of the gate's decision, without a browser: the page, navigation and app lists,
a link's destination, rule verdicts, an unreadable press, each way of confirming, and the
fail-closed paths; then the policy it enforces (its file, rules and lists). The env is the
pure-Python board example; the reader reports a fixed target, standing for what a browser's
element lookup would have read."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agent.core.actions import Action, Back, Click, Navigate, OpenApp, Scroll
from agent.core.env import Env
from agent.core.errors import ConfigError, EnvClosedError
from agent.core.observation import Observation
from agent.safety.gate import (
    AllowAll,
    ConfirmRequest,
    Decision,
    PolicyGate,
    make_gate,
    tty_confirm,
)
from agent.safety.policy import Policy, Rule, load_policy, url_matches
from agent.safety.targets import UNREADABLE, Target, TargetReader
from board_env import BoardEnv

PAGE = "http://shop.test/checkout"


class SeenReader(TargetReader):
    """Reads ``target`` for every action (or raises ``error``), counting the reads."""

    def __init__(self, target: Target | None = None, error: Exception | None = None) -> None:
        super().__init__()
        self.target, self.error, self.reads = target, error, 0

    def read(self, action: Action, env: Env, obs: Observation) -> Target | None:
        self.reads += 1
        if self.error is not None:
            raise self.error
        return self.target


def obs(url: str | None = PAGE, app: str | None = None) -> Observation:
    return Observation(array=np.zeros((20, 20, 3), np.uint8), url=url, app=app)


def check(gate: PolicyGate, action: Action, observation: Observation | None = None) -> Decision:
    return gate.check(action, BoardEnv(), observation or obs())


PAY = Target("Pay now", "dom", role="button")
CLICK = Click(point=(5.0, 5.0))


def test_a_page_off_the_allow_list_stops_everything_but_the_ways_out() -> None:
    gate = PolicyGate(Policy(allow_urls=("http://ok.test/*",)), reader=SeenReader())
    d = check(gate, CLICK, obs("http://evil.test/"))
    assert (d.verdict, d.rule, d.policy) == ("deny", "urls", "default")
    assert (
        d.reason == "the current page is not allowed: 'http://evil.test/' is not on the allow list"
    )
    assert check(gate, Navigate(url="http://ok.test/home"), obs("http://evil.test/")).verdict == (
        "allow"
    )
    assert check(gate, Back(), obs("http://evil.test/")).verdict == ("allow")
    assert check(gate, CLICK, obs(None)).verdict == "allow"  # no page: nothing to judge


def test_navigation_and_apps_are_judged_by_their_lists() -> None:
    gate = PolicyGate(Policy(deny_urls=("*://bad.test/*",), allow_apps=("Calculator",)))
    d = check(gate, Navigate(url="http://bad.test/x"))
    assert (d.verdict, d.rule) == ("deny", "urls")
    assert d.reason == "'http://bad.test/x' matches the deny list (*://bad.test/*)"
    assert check(gate, Navigate(url="http://good.test/")).verdict == "allow"
    d = check(gate, OpenApp(name="Mail"))
    assert (d.verdict, d.rule) == ("deny", "apps")
    assert "'Mail' is not on the allow list (Calculator)" in (d.reason or "")
    assert check(gate, OpenApp(name="calculator")).verdict == "allow"


def test_a_link_to_a_denied_url_is_stopped_with_what_was_seen() -> None:
    link = Target("Docs", "dom", role="link", href="/../admin/panel")
    reader = SeenReader(link)
    gate = PolicyGate(Policy(rules=(), deny_urls=("http://shop.test/admin/*",)), reader=reader)
    d = check(gate, CLICK)
    assert (d.verdict, d.rule) == ("deny", "urls")
    assert d.reason == (
        "the link goes to a URL that is not allowed: "
        "'http://shop.test/admin/panel' matches the deny list (http://shop.test/admin/*)"
    )
    assert d.target == {"text": "Docs", "source": "dom", "role": "link", "href": "/../admin/panel"}
    assert reader.reads == 1
    # no URL lists and no target rules: nothing is read at all
    quiet = SeenReader(link)
    assert check(PolicyGate(Policy(rules=()), reader=quiet), CLICK).verdict == "allow"
    assert quiet.reads == 0


def test_a_confirm_rule_asks_and_records_who_answered() -> None:
    yes = check(PolicyGate(confirm="yes", reader=SeenReader(PAY)), CLICK)
    assert (yes.verdict, yes.rule) == ("allow", "irreversible")
    assert yes.reason == (
        "the target 'Pay now' matches 'pay': it may spend money, delete data or send "
        "something; confirmed (--yes)"
    )
    assert yes.confirmation == {"by": "--yes", "ok": True}
    assert yes.target == {"text": "Pay now", "source": "dom", "role": "button"}
    no = check(PolicyGate(confirm="no", reader=SeenReader(PAY)), CLICK)
    assert (no.verdict, no.confirmation) == ("deny", {"by": "auto-deny", "ok": False})
    assert no.reason is not None and no.reason.endswith("; not confirmed (auto-deny)")


def test_a_callback_sees_the_request_and_its_failure_is_a_no() -> None:
    seen: list[ConfirmRequest] = []

    def approve(request: ConfirmRequest) -> bool:
        seen.append(request)
        return True

    d = check(PolicyGate(confirm=approve, reader=SeenReader(PAY)), CLICK)
    assert (d.verdict, d.confirmation) == ("allow", {"by": "callback", "ok": True})
    (request,) = seen
    assert (request.rule, request.target, request.url) == ("irreversible", PAY, PAGE)
    assert request.prompt() == (
        f"The agent wants to click on 'Pay now' at {PAGE} — {request.reason}. Allow it?"
    )

    def broken(request: ConfirmRequest) -> bool:
        raise RuntimeError("no display")

    d = check(PolicyGate(confirm=broken, reader=SeenReader(PAY)), CLICK)
    assert (d.verdict, d.confirmation) == (
        "deny",
        {"by": "callback failed: RuntimeError", "ok": False},
    )


def test_nobody_to_ask_gets_the_policy_non_interactive_verdict() -> None:
    # pytest's stdin is not a terminal, so "auto" cannot ask anyone
    assert not sys.stdin.isatty()
    d = check(PolicyGate(reader=SeenReader(PAY)), CLICK)
    assert (d.verdict, d.confirmation) == (
        "deny",
        {"by": "non-interactive: nobody to ask", "ok": False},
    )
    lenient = PolicyGate(Policy(non_interactive="allow"), reader=SeenReader(PAY))
    assert check(lenient, CLICK).verdict == "allow"


def test_deny_and_allow_rules_and_the_default() -> None:
    rules = (
        Rule("deny", name="no-delete", target=("delete",)),
        Rule("allow", name="ok-save", target=("save",), reason="saving is fine"),
        Rule("deny", name="no-scroll", actions=("scroll",)),
    )
    policy = Policy(name="house", rules=rules)
    d = check(PolicyGate(policy, reader=SeenReader(Target("Delete all", "dom"))), CLICK)
    assert (d.verdict, d.rule, d.policy) == ("deny", "no-delete", "house")
    assert d.reason == "the target 'Delete all' matches 'delete': rule 'no-delete'"
    d = check(PolicyGate(policy, reader=SeenReader(Target("Save", "dom"))), CLICK)
    assert (d.verdict, d.rule) == ("allow", "ok-save")
    assert d.reason == "the target 'Save' matches 'save': saving is fine"
    d = check(PolicyGate(policy, reader=SeenReader(Target("Help", "dom"))), CLICK)
    assert d == Decision("allow", "house", None, None, {"text": "Help", "source": "dom"})
    d = check(PolicyGate(policy, reader=SeenReader()), Scroll(point=(5.0, 5.0), direction="down"))
    assert (d.verdict, d.rule, d.reason) == ("deny", "no-scroll", "rule 'no-scroll'")


def test_an_unreadable_press_is_the_policy_unknown_target_verdict() -> None:
    blind = Target("", UNREADABLE, error="cross-origin frame")
    d = check(PolicyGate(confirm="no", reader=SeenReader(blind)), CLICK)
    assert (d.verdict, d.rule) == ("deny", "unknown-target")
    assert (
        d.reason
        == "what this click presses cannot be read (cross-origin frame); not confirmed (auto-deny)"
    )
    strict = PolicyGate(Policy(unknown_target="deny"), confirm="yes", reader=SeenReader(blind))
    assert check(strict, CLICK).verdict == "deny"
    # a scroll presses nothing: an unreadable target does not matter
    scroll = Scroll(point=(5.0, 5.0), direction="down")
    assert check(PolicyGate(confirm="no", reader=SeenReader(blind)), scroll).verdict == "allow"


def test_the_gate_fails_closed_but_lets_a_dead_env_report_itself() -> None:
    d = check(PolicyGate(reader=SeenReader(error=RuntimeError("boom"))), CLICK)
    assert (d.verdict, d.reason) == ("deny", "the gate failed (RuntimeError: boom)")
    long = check(PolicyGate(reader=SeenReader(error=RuntimeError("x" * 500))), CLICK)
    assert long.reason is not None and len(long.reason) == 300
    gone = check(PolicyGate(reader=SeenReader(error=EnvClosedError("closed"))), CLICK)
    assert (gone.verdict, gone.reason) == ("allow", "the env is gone; step reports it")


def test_the_gate_describes_itself_and_routes_urls_only_when_listed() -> None:
    assert Decision("allow").to_json() == {"verdict": "allow", "policy": "allow-all"}
    assert AllowAll().check(CLICK, BoardEnv(), obs()) == Decision("allow")
    assert isinstance(make_gate(enabled=False), AllowAll)
    gate = make_gate(Policy(name="p", deny_urls=("*://bad.test/*",)), confirm="no")
    assert isinstance(gate, PolicyGate) and gate.confirm == "no" and gate.policy.name == "p"
    verdict = gate.wire_verdict()
    assert (
        verdict is not None and verdict("http://bad.test/a") and verdict("http://ok.test/") is None
    )
    assert PolicyGate(Policy(allow_urls=("http://a.test/*",))).wire_verdict() is not None
    assert PolicyGate().wire_verdict() is None
    assert gate.describe() == {"policy": gate.policy.to_json(), "confirm": "no"}
    assert PolicyGate(confirm=lambda r: True).describe()["confirm"] == "callback"
    assert PolicyGate().policy.name == "default"


def test_the_prompt_shortens_what_it_shows() -> None:
    long = Target("x" * 200, "dom")
    r = ConfirmRequest(CLICK, "why", target=long, url="http://a.test/" + "p" * 200)
    assert r.prompt() == (
        f"The agent wants to click on {'x' * 79 + '…'!r} at {('http://a.test/' + 'p' * 200)[:79]}…"
        " — why. Allow it?"
    )
    assert ConfirmRequest(CLICK, "why").prompt() == "The agent wants to click — why. Allow it?"
    assert (
        ConfirmRequest(CLICK, "why", target=Target("", "dom"))
        .prompt()
        .startswith("The agent wants to click —")
    )


@pytest.fixture
def stdin_pipe(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A real pipe as stdin; yields its write end."""
    r, w = os.pipe()
    reader = os.fdopen(r)
    monkeypatch.setattr(sys, "stdin", reader)
    yield w
    reader.close()


@pytest.mark.parametrize(("answer", "ok"), [("y\n", True), (" YES \n", True), ("n\n", False)])
def test_the_terminal_answer_is_read(
    stdin_pipe: int, answer: str, ok: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    os.write(stdin_pipe, answer.encode())
    assert tty_confirm(ConfirmRequest(CLICK, "it pays"), timeout=5) is ok
    assert "[gate] The agent wants to click — it pays. Allow it? [y/N]" in capsys.readouterr().err


def test_no_terminal_answer_in_time_is_a_no(
    stdin_pipe: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tty_confirm(ConfirmRequest(CLICK, "it pays"), timeout=0.0) is False
    assert "(no answer: denied)" in capsys.readouterr().err
    os.close(stdin_pipe)
    assert tty_confirm(ConfirmRequest(CLICK, "it pays"), timeout=5) is False  # EOF: no


def test_tty_mode_asks_the_terminal(stdin_pipe: int) -> None:
    os.write(stdin_pipe, b"yes\n")
    d = check(PolicyGate(confirm="tty", reader=SeenReader(PAY)), CLICK)
    assert (d.verdict, d.confirmation) == ("allow", {"by": "terminal", "ok": True})


# ---- the policy the gate enforces: its file, its rules and its lists --------------------


def test_a_policy_round_trips_through_its_json_form() -> None:
    rule = Rule("deny", name="r", actions=("click",), url=("*://a.test/*",), reason="because")
    assert rule.to_json() == {
        "name": "r",
        "verdict": "deny",
        "actions": ["click"],
        "url": ["*://a.test/*"],
        "reason": "because",
    }
    p = Policy(
        name="p",
        rules=(rule,),
        allow_urls=("http://a.test/*",),
        deny_urls=("*://b.test/*",),
        allow_apps=("Calc",),
        non_interactive="allow",
        unknown_target="deny",
    )
    data = p.to_json()
    assert data["urls"] == {"allow": ["http://a.test/*"], "deny": ["*://b.test/*"]}
    assert data["apps"] == {"allow": ["Calc"]}
    assert Policy.from_json(data) == p
    more = p.with_urls(["http://c.test/*"], ["*://d.test/*"])
    assert more.allow_urls == ("http://a.test/*", "http://c.test/*")
    assert more.deny_urls == ("*://b.test/*", "*://d.test/*")
    assert (more.unknown_target, more.non_interactive, more.allow_apps) == (
        "deny",
        "allow",
        ("Calc",),
    )


def test_a_policy_file_is_read_with_its_settings_and_name(tmp_path: Path) -> None:
    f = tmp_path / "house.toml"
    f.write_text(
        'default = "confirm"\nnon_interactive = "allow"\nunknown_target = "deny"\n'
        'urls = { allow = "http://a.test/*" }\napps = { allow = ["Calc"] }\n'
        '[[rules]]\nverdict = "deny"\ntarget = "wipe"\nreason = "no wiping"\n'
    )
    p = load_policy(f)
    assert (p.name, p.default, p.non_interactive, p.unknown_target) == (
        "house",
        "confirm",
        "allow",
        "deny",
    )
    assert (p.allow_urls, p.allow_apps) == (("http://a.test/*",), ("Calc",))  # a string: a list
    assert p.rules[0] == Rule("deny", name="rules[0]", target=("wipe",), reason="no wiping")
    assert p.rules[1:] == Policy().rules  # extends the default rules
    assert Policy.from_json({}, source="").name == "policy"
    j = tmp_path / "strict.json"
    j.write_text('{"extends": "none", "name": "s"}')
    assert (load_policy(j).name, load_policy(j).rules) == ("s", ())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "p: a policy must be a table/object"),
        ({"colour": 1}, "p: unknown keys ['colour']; known: ['apps', 'default', 'extends'"),
        ({"extends": "all"}, "p: extends must be 'default' or 'none', got 'all'"),
        ({"rules": {}}, "p: rules must be a list of tables"),
        ({"urls": []}, "p: urls and apps must be tables with allow/deny lists"),
        ({"apps": []}, "p: urls and apps must be tables with allow/deny lists"),
        ({"default": "maybe"}, "p: default must be one of ('allow', 'confirm', 'deny'), got"),
        ({"unknown_target": "maybe"}, "p: unknown_target must be one of ('allow', 'confirm'"),
        ({"non_interactive": "confirm"}, "p: non_interactive must be allow or deny, got 'con"),
        ({"urls": {"allow": [1]}}, "p: urls.allow must be a list of strings"),
        ({"urls": {"deny": [1]}}, "p: urls.deny must be a list of strings"),
        ({"apps": {"allow": 5}}, "p: apps.allow must be a list of strings"),
        ({"rules": ["x"]}, "p: rules[0] must be a table"),
        ({"rules": [{"verdict": "deny", "colour": 1}]}, "p: rules[0]: unknown keys ['colour']"),
        ({"rules": [{"verdict": "no"}]}, "p: rules[0]: verdict must be one of ('allow', 'con"),
        ({"rules": [{"verdict": "deny", "actions": [1]}]}, "p: rules[0].actions must be a list"),
        (
            {"rules": [{"verdict": "deny", "actions": ["fly"]}]},
            "p: rules[0]: unknown action types ['fly']; known: ['click',",
        ),
        ({"rules": [{"verdict": "deny", "url": [1]}]}, "p: rules[0].url must be a list of"),
        ({"rules": [{"verdict": "deny", "app": [1]}]}, "p: rules[0].app must be a list of"),
        ({"rules": [{"verdict": "deny", "target": [1]}]}, "p: rules[0].target must be a list"),
    ],
)
def test_a_bad_policy_is_an_error_that_names_the_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        Policy.from_json(data, source="p")  # type: ignore[arg-type]
    assert str(err.value).startswith(message)


def test_every_rule_key_is_read() -> None:
    rule = {"verdict": "deny", "name": "n", "actions": ["click"], "target": ["pay"]}
    rule |= {"url": ["*://a.test/*"], "app": ["Shop"], "reason": "r"}
    (r, *_) = Policy.from_json({"rules": [rule]}).rules
    assert r == Rule("deny", "n", ("click",), ("pay",), ("*://a.test/*",), ("Shop",), "r")


def test_unreadable_and_malformed_files_say_which_and_why(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read policy file"):
        load_policy(tmp_path)
    for name, text, kind in [
        ("p.toml", "= x", "toml"),
        ("p.json", "{", "json"),
        ("p", "= x", "TOML"),
    ]:
        f = tmp_path / name
        f.write_text(text)
        with pytest.raises(ConfigError, match=f"policy file {f} is not valid {kind}: "):
            load_policy(f)


def test_rules_are_scoped_by_action_url_and_app_and_the_first_match_wins() -> None:
    rules = (
        Rule("deny", name="typing", actions=("type",)),
        Rule("deny", name="on-a", url=("*://a.test/*",)),
        Rule("confirm", name="in-shop", app=("Shop",)),
        Rule("allow", name="rest"),
    )
    p = Policy(rules=rules)
    assert p.rule_for("click", None, "http://a.test/x", None)[:2] == ("deny", rules[1])
    assert p.rule_for("click", None, "http://b.test/x", None)[:2] == ("allow", rules[3])
    assert p.rule_for("click", None, None, "shop")[:2] == ("confirm", rules[2])
    assert p.rule_for("click", None, None, "Other")[:2] == ("allow", rules[3])
    assert p.rule_for("type", None, None, None) == ("deny", rules[0], None)
    t = Policy(rules=(Rule("deny", name="t", target=("pay",)), Rule("allow", name="rest")))
    assert t.rule_for("click", "Help", None, None) == ("allow", t.rules[1], None)
    assert t.rule_for("click", None, None, None) == ("allow", t.rules[1], None)
    assert t.rule_for("click", "Pay", None, None) == ("deny", t.rules[0], "pay")
    assert Policy(rules=()).rule_for("click", "x", None, None) == ("allow", None, None)


def test_a_regular_expression_also_sees_the_raw_text() -> None:
    hidden = Rule("deny", target=("re:\u200b",))  # a zero-width space, gone once folded
    assert hidden.match_target("Pa\u200by") == "re:\u200b"
    assert hidden.match_target("Pay") is None


def test_url_and_app_verdicts_say_why() -> None:
    assert Policy().url_verdict("http://[bad") == "'http://[bad' is not a URL a browser would load"
    apps = Policy(allow_apps=("Calc", "Mail"))
    assert apps.app_verdict("x" * 100) == (
        f"app {'x' * 80!r} is not on the allow list (Calc, Mail)"
    )
    assert url_matches("*", "http://[bad") is False


# ---- what reaches the reader, the terminal and the record -------------------------------


def test_the_reader_gets_the_action_env_and_observation_checked() -> None:
    seen: list[tuple[Action, Env, Observation]] = []

    class Recording(TargetReader):
        def read(self, action: Action, env: Env, obs: Observation) -> Target | None:
            seen.append((action, env, obs))
            return PAY

    env, o = BoardEnv(), obs()
    reader = Recording()
    gate = make_gate(confirm="yes", reader=reader)
    assert isinstance(gate, PolicyGate) and gate.reader is reader
    assert make_gate().confirm == "auto"  # type: ignore[attr-defined]
    gate.check(CLICK, env, o)
    assert seen == [(CLICK, env, o)]


def test_every_decision_names_the_policy_and_what_was_seen() -> None:
    house = Policy(name="house", rules=(Rule("deny", name="d", target=("pay",)),))
    d = PolicyGate(house, reader=SeenReader(PAY)).check(CLICK, BoardEnv(), obs())
    assert (d.policy, d.target) == ("house", {"text": "Pay now", "source": "dom", "role": "button"})
    ask = Policy(name="house")
    d = PolicyGate(ask, confirm="no", reader=SeenReader(PAY)).check(CLICK, BoardEnv(), obs())
    assert d.policy == "house"
    for error in (RuntimeError("boom"), EnvClosedError("gone")):
        d = PolicyGate(ask, reader=SeenReader(error=error)).check(CLICK, BoardEnv(), obs())
        assert d.policy == "house"
    reasons: list[str] = []
    gate = PolicyGate(confirm=lambda r: reasons.append(r.reason) or False, reader=SeenReader(PAY))
    d = check(gate, CLICK)
    assert reasons == [
        "the target 'Pay now' matches 'pay': it may spend money, delete data or send something"
    ]


def test_rules_scoped_to_the_page_and_app_see_the_observation() -> None:
    rules = (
        Rule("deny", name="on-shop", url=("http://shop.test/*",)),
        Rule("deny", name="in-mail", app=("Mail",)),
    )
    gate = PolicyGate(Policy(rules=rules))
    assert check(gate, CLICK, obs(PAGE)).rule == "on-shop"
    assert check(gate, CLICK, obs("http://else.test/", app="Mail")).rule == "in-mail"
    assert check(gate, CLICK, obs("http://else.test/", app="Calc")).verdict == "allow"


def test_reasons_without_a_phrase_and_long_targets() -> None:
    nothing = PolicyGate(Policy(rules=(), default="deny"), reader=SeenReader(PAY))
    assert check(nothing, CLICK).reason == "no rule matched"
    rules = (Rule("deny", name="no-click", actions=("click",)), Rule("allow", target=("x",)))
    d = check(PolicyGate(Policy(rules=rules), reader=SeenReader(Target("Help", "dom"))), CLICK)
    assert d.reason == "rule 'no-click'"  # a target was read, but this rule names no phrase
    long = Target("pay " + "y" * 200, "dom")
    d = check(PolicyGate(confirm="no", reader=SeenReader(long)), CLICK)
    shown = long.text[:79] + "…"  # cut with a mark (scrubbing sees a secret cut short)
    assert d.reason is not None and d.reason.startswith(f"the target {shown!r} matches")


def test_the_terminal_prompt_is_one_line_without_a_newline(
    stdin_pipe: int, capsys: pytest.CaptureFixture[str]
) -> None:
    os.write(stdin_pipe, b"n\n")
    tty_confirm(ConfirmRequest(CLICK, "it pays"), timeout=5)
    assert (
        capsys.readouterr().err == "\n[gate] The agent wants to click — it pays. Allow it? [y/N] "
    )
    tty_confirm(ConfirmRequest(CLICK, "it pays"), timeout=0.0)
    assert capsys.readouterr().err.endswith("[y/N] (no answer: denied)\n")


def test_a_closed_stdin_is_no_answer_and_not_interactive(
    stdin_pipe: int, capsys: pytest.CaptureFixture[str]
) -> None:
    sys.stdin.close()
    assert tty_confirm(ConfirmRequest(CLICK, "it pays"), timeout=5) is False
    assert capsys.readouterr().err.endswith("(no answer: denied)\n")
    d = check(PolicyGate(reader=SeenReader(PAY)), CLICK)  # "auto" cannot ask a closed stdin
    assert d.confirmation == {"by": "non-interactive: nobody to ask", "ok": False}
