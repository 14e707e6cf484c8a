"""Names are matched in one normal form: the spellings a hostile page used to slip a
"Delete" or "Pay now" past the default policy (issue 15) are caught, ordinary words are not
changed."""

from __future__ import annotations

import pytest

from agent.safety.names import normalise_name
from agent.safety.policy import default_policy

HIDDEN_DELETE = [
    "De\u200blete",  # zero-width space
    "De\u00adlete",  # soft hyphen
    "De\u2060lete",  # word joiner
    "\u202eDelete",  # a bidi override before it
    "D\u0435lete",  # Cyrillic small ie
    "\uff24\uff45\uff4c\uff45\uff54\uff45",  # full-width
    "DELETE",
    "d\u0435l\u0435t\u0435 account",
]


@pytest.mark.parametrize("text", HIDDEN_DELETE)
def test_hidden_spellings_of_delete_are_confirmed(text: str) -> None:
    verdict, _rule, phrase = default_policy().rule_for("click", text, None, None)
    assert verdict == "confirm" and phrase == "delete", text


@pytest.mark.parametrize("text", ["Pa\u200by n\u043ew", "P\u0430y\u00a0now", "Ｐａｙ ｎｏｗ"])
def test_hidden_spellings_of_pay_now_are_confirmed(text: str) -> None:
    assert default_policy().rule_for("click", text, None, None)[0] == "confirm", text


@pytest.mark.parametrize("text", ["Deleted items", "Payload", "Display", "Selected", "Buyer guide"])
def test_other_words_still_pass(text: str) -> None:
    assert default_policy().rule_for("click", text, None, None)[0] == "allow", text


def test_the_normal_form() -> None:
    assert normalise_name("  Ｄ\u0435\u200bl e\u00adte \n now ") == "del ete now"
    assert normalise_name("Straße") == "strasse"  # case folding, not lower()
    assert normalise_name("naïve café") == "naïve café"  # real letters are kept


@pytest.mark.parametrize("kind", ["middle_click", "right_click", "drag", "double_click"])
def test_every_pressing_action_is_under_the_default_rules(kind: str) -> None:
    assert default_policy().rule_for(kind, "Delete", None, None)[0] == "confirm"
