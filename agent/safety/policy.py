"""Safety policies: which actions run, which need a person's yes, which never run.

A policy is data (TOML or JSON), so the same file governs every env. Evaluation order:

1. URL lists (browser): a ``navigate`` target or a clicked link that is denied — or not on a
   non-empty allow list — is denied; on a page that is itself not allowed, only ways out
   (``back``, ``navigate`` to an allowed URL, ``finish``, ``call_user``, ``wait``) run.
2. App allow list (``open_app``): a name not on a non-empty list is denied.
3. Rules, first match wins; no match → ``default`` (allow).

A rule matches when every condition it states holds: ``actions`` (types), ``target``
(phrases matched as whole words, case-insensitively, against the text of what the action
would press — ``re:`` prefixes a regular expression), ``url`` (patterns of the current URL)
and ``app``. A target rule only matches when the target could be read. In the browser that
text includes what the screenshot shows at the point (``pixel_target``, default true; OCR,
:mod:`agent.safety.seen`).
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agent.core.actions import ACTION_TYPES, PRESS_TYPES
from agent.core.errors import ConfigError
from agent.safety.names import normalise_name
from agent.safety.patterns import check_patterns, matches
from agent.safety.urls import HARMLESS_ABOUT, Destination, destination, names_scheme

RuleVerdict = Literal["allow", "confirm", "deny"]
VERDICTS = ("allow", "confirm", "deny")

DEFAULT_CONFIRM = (
    "pay",
    "pay now",
    "buy",
    "buy now",
    "purchase",
    "place order",
    "order now",
    "confirm order",
    "confirm payment",
    "submit payment",
    "delete",
    "transfer",
    "send money",
    "donate",
    "factory reset",
)


@dataclass(frozen=True)
class Rule:
    verdict: RuleVerdict
    name: str = "rule"
    actions: tuple[str, ...] = ()
    target: tuple[str, ...] = ()
    url: tuple[str, ...] = ()
    app: tuple[str, ...] = ()
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "verdict": self.verdict}
        for k in ("actions", "target", "url", "app"):
            if getattr(self, k):
                out[k] = list(getattr(self, k))
        if self.reason:
            out["reason"] = self.reason
        return out

    def match_target(self, text: str) -> str | None:
        """The phrase of this rule found in ``text`` (None when none is). Both are compared
        in :func:`~agent.safety.names.normalise_name` form, so invisible characters and
        look-alike letters cannot hide a word; a ``re:`` pattern also sees the raw text."""
        folded = normalise_name(text)
        for phrase in self.target:
            pattern = _phrase_re(phrase)
            if pattern.search(folded) or (phrase.startswith("re:") and pattern.search(text)):
                return phrase
        return None


# The default rule covers every action type that declares Trait.PRESSES (PRESS_TYPES is
# derived from the action classes), so a new pressing type is covered by what it declares.
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(
        "confirm",
        name="irreversible",
        actions=PRESS_TYPES,
        target=DEFAULT_CONFIRM,
        reason="it may spend money, delete data or send something",
    ),
)


@dataclass(frozen=True)
class Policy:
    """Rules plus URL and app lists; ``non_interactive`` is what ``confirm`` becomes when
    nobody can be asked (``deny`` unless a policy says otherwise)."""

    name: str = "default"
    rules: tuple[Rule, ...] = DEFAULT_RULES
    default: RuleVerdict = "allow"
    allow_urls: tuple[str, ...] = ()
    deny_urls: tuple[str, ...] = ()
    allow_apps: tuple[str, ...] = ()
    non_interactive: Literal["allow", "deny"] = "deny"
    # a press whose target the env cannot read (inside a cross-origin frame): what it gets
    unknown_target: RuleVerdict = "confirm"
    # the third reading of a target: OCR of what the screenshot shows there (browser)
    pixel_target: bool = True

    def with_urls(self, allow: list[str] | None = None, deny: list[str] | None = None) -> Policy:
        """This policy with more URL patterns (``--allow-url`` / ``--deny-url``); a pattern
        with ``://`` that is not a URL is a ConfigError."""
        check_patterns([*(allow or ()), *(deny or ())], "--allow-url/--deny-url")
        return Policy(
            self.name,
            self.rules,
            self.default,
            self.allow_urls + tuple(allow or ()),
            self.deny_urls + tuple(deny or ()),
            self.allow_apps,
            self.non_interactive,
            self.unknown_target,
            self.pixel_target,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "default": self.default,
            "non_interactive": self.non_interactive,
            "unknown_target": self.unknown_target,
            "pixel_target": self.pixel_target,
            "urls": {"allow": list(self.allow_urls), "deny": list(self.deny_urls)},
            "apps": {"allow": list(self.allow_apps)},
            "extends": "none",  # the rules below are complete (defaults included)
            "rules": [r.to_json() for r in self.rules],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, source: str = "policy") -> Policy:
        """Build from the file structure (see the module docstring and README)."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: a policy must be a table/object")
        known = {"name", "extends", "default", "non_interactive", "unknown_target", "urls"}
        known |= {"apps", "rules", "pixel_target"}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{source}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        extends = data.get("extends", "default")
        if extends not in ("default", "none"):
            raise ConfigError(f"{source}: extends must be 'default' or 'none', got {extends!r}")
        raw_rules = data.get("rules", [])
        if not isinstance(raw_rules, list):
            raise ConfigError(f"{source}: rules must be a list of tables")
        rules = tuple(_rule(r, f"{source}: rules[{i}]") for i, r in enumerate(raw_rules))
        if extends == "default":
            rules += DEFAULT_RULES
        urls, apps = data.get("urls", {}), data.get("apps", {})
        if not isinstance(urls, dict) or not isinstance(apps, dict):
            raise ConfigError(f"{source}: urls and apps must be tables with allow/deny lists")
        default = data.get("default", "allow")
        if default not in VERDICTS:
            raise ConfigError(f"{source}: default must be one of {VERDICTS}, got {default!r}")
        unknown_target = data.get("unknown_target", "confirm")
        if unknown_target not in VERDICTS:
            raise ConfigError(f"{source}: unknown_target must be one of {VERDICTS}")
        pixel_target = data.get("pixel_target", True)
        if not isinstance(pixel_target, bool):
            raise ConfigError(f"{source}: pixel_target must be true or false, got {pixel_target!r}")
        ni = data.get("non_interactive", "deny")
        if ni not in ("allow", "deny"):
            raise ConfigError(f"{source}: non_interactive must be allow or deny, got {ni!r}")
        policy = cls(
            name=str(data.get("name", Path(source).stem or "policy")),
            rules=rules,
            default=default,
            allow_urls=_strings(urls.get("allow", []), f"{source}: urls.allow"),
            deny_urls=_strings(urls.get("deny", []), f"{source}: urls.deny"),
            allow_apps=_strings(apps.get("allow", []), f"{source}: apps.allow"),
            non_interactive=ni,
            unknown_target=unknown_target,
            pixel_target=pixel_target,
        )
        check_patterns(policy.allow_urls + policy.deny_urls, f"{source}: urls")
        return policy

    # ---- evaluation (pure) ----------------------------------------------------------------
    def needs_target(self, action_type: str) -> bool:
        return any(r.target and (not r.actions or action_type in r.actions) for r in self.rules)

    def url_verdict(self, url: str) -> str | None:
        """Why a navigation to ``url`` is not allowed, or None when it is. The URL is judged
        by its destination (:mod:`agent.safety.urls`); local schemes (``file:``,
        ``view-source:``, ``javascript:`` ...) are refused unless an allow pattern names
        the scheme."""
        try:
            dest = destination(url)
        except ConfigError as err:
            return str(err)
        return self.destination_verdict(dest)

    def destination_verdict(self, dest: Destination) -> str | None:
        shown = _short(dest.canonical)
        if dest.href in HARMLESS_ABOUT:
            return None
        for pat in self.deny_urls:
            if matches(pat, dest):
                return f"{shown} matches the deny list ({pat})"
        if dest.local and not any(names_scheme(p, dest.scheme) for p in self.allow_urls):
            return (
                f"{shown}: the {dest.scheme}: scheme is refused unless an allow pattern "
                f"names it (--allow-url '{dest.scheme}:...')"
            )
        if self.allow_urls and not any(matches(p, dest) for p in self.allow_urls):
            return f"{shown} is not on the allow list"
        return None

    def app_verdict(self, name: str) -> str | None:
        if not self.allow_apps:
            return None
        folded = name.strip().casefold()
        if any(folded == a.casefold() for a in self.allow_apps):
            return None
        return f"app {name[:80]!r} is not on the allow list ({', '.join(self.allow_apps)})"

    def rule_for(
        self, action_type: str, target: str | None, url: str | None, app: str | None
    ) -> tuple[RuleVerdict, Rule | None, str | None]:
        """(verdict, the rule that decided, the phrase it matched) — first match wins."""
        for r in self.rules:
            if r.actions and action_type not in r.actions:
                continue
            if r.url and not (url and any(url_matches(p, url) for p in r.url)):
                continue
            if r.app and not (app and any(app.casefold() == a.casefold() for a in r.app)):
                continue
            phrase = None
            if r.target:
                if not target:
                    continue
                phrase = r.match_target(target)
                if phrase is None:
                    continue
            return r.verdict, r, phrase
        return self.default, None, None


def default_policy() -> Policy:
    return Policy()


def load_policy(path: str | Path) -> Policy:
    """A policy file: ``.toml`` or ``.json``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read policy file {p}: {err}") from err
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"policy file {p} is not valid {p.suffix[1:] or 'TOML'}: {err}") from err
    return Policy.from_json(data, source=str(p))


def url_matches(pattern: str, url: str) -> bool:
    """Whether ``url`` (parsed as a browser does) matches ``pattern`` (see
    :func:`agent.safety.patterns.matches`); a URL no browser would load matches nothing."""
    try:
        return matches(pattern, destination(url))
    except ConfigError:
        return False


@functools.lru_cache(maxsize=1024)
def _phrase_re(phrase: str) -> re.Pattern[str]:
    if phrase.startswith("re:"):
        try:
            return re.compile(phrase[3:], re.IGNORECASE)
        except re.error as err:
            raise ConfigError(f"bad regular expression in policy target {phrase!r}: {err}") from err
    words = [re.escape(w) for w in normalise_name(phrase).split()]
    if not words:
        raise ConfigError("a policy target phrase must not be empty")
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)


def _rule(data: Any, where: str) -> Rule:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a table")
    known = {"name", "verdict", "actions", "target", "url", "app", "reason"}
    if set(data) - known:
        raise ConfigError(f"{where}: unknown keys {sorted(set(data) - known)}")
    verdict = data.get("verdict")
    if verdict not in VERDICTS:
        raise ConfigError(f"{where}: verdict must be one of {VERDICTS}, got {verdict!r}")
    actions = _strings(data.get("actions", []), f"{where}.actions")
    bad = [a for a in actions if a not in ACTION_TYPES]
    if bad:
        raise ConfigError(f"{where}: unknown action types {bad}; known: {list(ACTION_TYPES)}")
    reason = data.get("reason")
    target = _strings(data.get("target", []), f"{where}.target")
    for phrase in target:
        _phrase_re(phrase)  # a bad expression is an error when the file is read
    return Rule(
        verdict,
        name=str(data.get("name", where.rsplit(": ", 1)[-1])),
        actions=actions,
        target=target,
        url=_strings(data.get("url", []), f"{where}.url"),
        app=_strings(data.get("app", []), f"{where}.app"),
        reason=str(reason) if reason is not None else None,
    )


def _short(url: str) -> str:
    return repr(url if len(url) <= 100 else url[:97] + "...")
