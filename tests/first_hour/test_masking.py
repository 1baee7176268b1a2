"""Secrets are masked as whole values: the message stays readable and never hints at the password.

The admin's password is `x`; an error that says "extra" must still say "extra" (not "e********tra", which
both mangles it and tells the reader the password is one letter, `x`), while `password 'x'` is masked.
"""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from orchestrator.masking import MASK, contains, mask
from orchestrator.transport.errors import scrub

WORD = string.ascii_letters + string.digits + "_-"


def test_a_one_letter_password_is_masked_where_it_is_a_value_and_nowhere_else():
    text = "extra option: the password 'x' for user:x was refused (x), see lab-x-01 and x."
    assert mask(text, {"x"}) == (
        "extra option: the password '********' for user:******** was refused (********), "
        "see lab-x-01 and ********."
    )


def test_the_transport_scrub_and_the_inventory_use_the_same_whole_value_rule():
    assert scrub("extra header: Basic eDp4", ("x", "eDp4")) == "extra header: Basic ********"


def test_the_longest_secret_is_masked_whole():
    assert mask("pass=hunter2!! and hunter2", {"hunter2", "hunter2!!"}) == f"pass={MASK} and {MASK}"


def test_a_password_of_punctuation_is_masked_too():
    assert mask("password: $%! refused", {"$%!"}) == f"password: {MASK} refused"


def test_nothing_to_mask_leaves_the_text_alone():
    assert mask("anything", set()) == "anything"
    assert mask("", {"x"}) == ""


words = st.text(alphabet=WORD, min_size=1, max_size=8)
separators = st.sampled_from([" ", "'", '"', ":", "=", ", ", "\n", "(", ")", ".", "/"])


@given(secret=words, parts=st.lists(st.tuples(words, separators), max_size=8))
def test_masking_removes_every_whole_value_and_keeps_every_other_word(secret: str, parts) -> None:
    text = "".join(word + sep for word, sep in parts)
    masked = mask(text, {secret})
    assert not contains(masked, {secret})
    # every word that is not the secret survives exactly, in order
    kept = [word for word, _ in parts if word != secret]
    rebuilt = "".join((MASK if word == secret else word) + sep for word, sep in parts)
    assert masked == rebuilt
    for word in kept:
        assert word in masked
    assert mask(masked, {secret}) == masked
