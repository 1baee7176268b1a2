"""The literal rules, one by one, and their round trip through PowerShell's own reading of a '...' string."""

from __future__ import annotations

from pathlib import PureWindowsPath

import pytest
from hypothesis import given
from hypothesis import strategies as st
from render_support import QUOTES, decode_verbatim, parse, string_literals, syntax_errors

from orchestrator.model import Secret
from orchestrator.pwsh import Code, LiteralError, literal, quote, unquote


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "'plain'"),
        ("it's", "'it''s'"),
        ("\u2018a\u2019 \u201ab\u201b", "'\u2018\u2018a\u2019\u2019 \u201a\u201ab\u201b\u201b'"),
        ("$(x) `n \"y\"", "'$(x) `n \"y\"'"),
        ("", "''"),
        (True, "$true"),
        (False, "$false"),
        (None, "$null"),
        (0, "0"),
        (8 * 2**30, "8589934592"),
        (-5, "(-5)"),
        (1.5, "1.5"),
        (["a", 1, None], "@('a', 1, $null)"),
        ([], "@()"),
        ([["x", "y"]], "@(,@('x', 'y'))"),
        ({"k'": 1, "b": [True]}, "@{'k''' = 1; 'b' = @($true)}"),
        ({}, "@{}"),
        (frozenset({"b", "a"}), "@('a', 'b')"),
        (PureWindowsPath("C:/VMs/x.vhdx"), "'C:\\VMs\\x.vhdx'"),
        (Code("$vm.Name"), "$vm.Name"),
    ],
)
def test_literal_rules(value: object, expected: str) -> None:
    assert literal(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "nul\x00byte",
        "bell\x07",
        "esc\x1b[31m",
        "lone \ud800 surrogate",
        Secret("hunter2"),
        2**63,
        float("nan"),
        object(),
        {1.5: "x"},
        {"a", 1},
    ],
)
def test_unrepresentable_values_are_refused(value: object) -> None:
    with pytest.raises(LiteralError) as info:
        literal(value)
    assert "hunter2" not in str(info.value)


def test_the_refusal_names_the_character() -> None:
    with pytest.raises(LiteralError, match="U\\+0000"):
        quote("a\x00b")


def test_typographic_quotes_pair_like_powershell_reads_them() -> None:
    for q in QUOTES:
        source = quote(f"x{q}y")
        assert decode_verbatim(source) == (f"x{q}y", len(source))
        # Undoubled, PowerShell would end the string there: the decoder (and unquote) must notice.
        with pytest.raises(LiteralError):
            unquote(f"'x{q}y'")


_TEXT = st.text(st.characters(blacklist_categories=("Cs",),
                              blacklist_characters="".join(map(chr, [*range(0, 9), 11, 12, *range(14, 32)]))))


@given(_TEXT)
def test_quote_round_trips_through_the_grammar_and_powershell_rules(text: str) -> None:
    script = f"$x = {quote(text)}\n"
    tree = parse(script)
    assert not syntax_errors(tree)
    (lit,) = string_literals(tree)
    assert lit.value == text
    assert unquote(quote(text)) == text


@given(st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                    max_leaves=12))
def test_nested_values_parse(value: object) -> None:
    assert not syntax_errors(parse(f"$x = {literal(value)}\n"))
