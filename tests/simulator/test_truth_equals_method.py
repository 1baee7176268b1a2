"""`.Equals()` is .NET's, not PowerShell's -ceq: it converts nothing (audit M L6)."""

from __future__ import annotations

from simulator_support import simulator, value


def test_string_equals_is_false_for_a_value_that_is_no_string() -> None:
    sim = simulator()
    assert value(sim, "'1'.Equals(1)") is False
    assert value(sim, "'True'.Equals($true)") is False
    assert value(sim, "'1'.Equals('1')") is True
    assert value(sim, "'a'.Equals('A')") is False  # ordinal: case counts
    assert value(sim, "'a'.Equals($null)") is False


def test_a_number_does_not_equal_its_text() -> None:
    sim = simulator()
    assert value(sim, "(1).Equals('1')") is False
    assert value(sim, "(1).Equals(1)") is True
