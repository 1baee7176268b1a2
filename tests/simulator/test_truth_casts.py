"""Casts, -is and a few .NET members as strict as .NET Framework 4.5 and Windows PowerShell 3.0 (audit M L7)."""

from __future__ import annotations

import pytest
from simulator_support import fails, ok, simulator, value

from orchestrator.simulator import Simulator


@pytest.fixture
def sim() -> Simulator:
    return simulator()


def test_a_char_is_one_character(sim: Simulator) -> None:
    assert value(sim, "[char]'a'") == "a"
    assert value(sim, "[char]65") == "A"
    assert "String must be exactly one character long." in fails(sim, "$c = [char]'ab'").stderr


@pytest.mark.parametrize(("cast", "good", "bad", "name"), [
    ("byte", "255", "300", "an unsigned byte"),
    ("byte", "0", "-1", "an unsigned byte"),
    ("uint32", "4294967295", "-1", "a UInt32"),
    ("int16", "-32768", "40000", "an Int16"),
    ("uint64", "0", "-1", "a UInt64"),
])
def test_the_narrow_and_unsigned_integer_casts_overflow(sim: Simulator, cast: str, good: str, bad: str,
                                                        name: str) -> None:
    assert value(sim, f"[{cast}]{good}") == int(good)
    stderr = fails(sim, f"$n = [{cast}]({bad})").stderr
    assert f"Value was either too large or too small for {name}." in stderr


def test_is_int_keeps_int_and_long_apart(sim: Simulator) -> None:
    assert value(sim, "5000000000 -is [int]") is False
    assert value(sim, "5 -is [int]") is True
    assert value(sim, "5000000000 -is [long]") is True


def test_is_long_of_a_number_in_the_int32_range_is_refused(sim: Simulator) -> None:
    """The simulator keeps no [long] apart from [int] (both are Python ints): it refuses to guess."""
    assert "[long]" in fails(sim, "$b = 5 -is [long]").stderr


def test_an_array_to_string_is_its_type_name(sim: Simulator) -> None:
    assert value(sim, "@(1, 2).ToString()") == "System.Object[]"
    assert value(sim, "[string]@(1, 2)") == "1 2"  # the conversion still joins


def test_ordered_on_a_variable_is_a_parse_error(sim: Simulator) -> None:
    result = fails(sim, "'before'\n$h = @{ a = 1 }\n$o = [ordered]$h")
    assert "The ordered attribute can be specified only on a hash literal node." in result.stderr
    assert "before" not in result.stdout  # a parse error: nothing ran
    assert "only on a hash literal node" in fails(sim, "[ordered]$h = @{}").stderr
    ok(sim, "$o = [ordered]@{ a = 1 }; $o.a")


def test_replace_of_an_empty_string_throws(sim: Simulator) -> None:
    assert "String cannot be of zero length." in fails(sim, "$s = 'abc'.Replace('', 'x')").stderr
    assert value(sim, "'abc'.Replace('b', '')") == "ac"
