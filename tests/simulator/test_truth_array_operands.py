"""An array as an arithmetic or -split operand, as Windows PowerShell 3.0 treats it (audit M L1, L2)."""

from __future__ import annotations

import pytest
from simulator_support import fails, simulator, value

from orchestrator.simulator import Simulator


@pytest.fixture
def sim() -> Simulator:
    return simulator()


@pytest.mark.parametrize(("expression", "method"), [
    ("@(1) - 1", "op_Subtraction"),
    ("@(5) / 2", "op_Division"),
    ("@(7) % 2", "op_Modulus"),
    ("1 + @(2)", "op_Addition"),
    ("3 - @(1)", "op_Subtraction"),
    ("2 * @(3)", "op_Multiply"),
    ("10 / @(2)", "op_Division"),
])
def test_an_array_operand_fails_except_on_the_left_of_plus_and_times(sim: Simulator, expression: str,
                                                                   method: str) -> None:
    """Only + and * "operate on strings, arrays, and hash tables", and the leftmost operand picks the operation
    (about_Arithmetic_Operators, 3.0): a one-element array is not unwrapped into its number."""
    stderr = fails(sim, f"$x = {expression}").stderr
    assert f"[System.Object[]] does not contain a method named '{method}'" in stderr


def test_an_array_on_the_left_of_plus_and_times_still_concatenates_and_copies(sim: Simulator) -> None:
    assert value(sim, "@(1) + 2") == [1, 2]
    assert value(sim, "@(1, 2) * 2") == [1, 2, 1, 2]
    assert value(sim, "$a", "$a = @(); $a += 1; $a += @(2, 3)") == [1, 2, 3]
    assert value(sim, "$n", "$n = 5; $n -= 1") == 4


def test_the_count_of_an_array_still_takes_part_in_arithmetic(sim: Simulator) -> None:
    assert value(sim, "@(1, 2).Count - 1") == 1


def test_times_an_array_count_fails(sim: Simulator) -> None:
    """The right operand of * is converted to a number; an array does not convert."""
    assert "System.Object[]" in fails(sim, "$x = @(1) * @(2)").stderr


def test_split_splits_each_string_of_an_array(sim: Simulator) -> None:
    """"If you submit multiple strings, all the strings are split using the same delimiter rules"
    (about_Split, 3.0: `"1 2", "a b" -split " "` gives 1, 2, a, b)."""
    assert value(sim, "@('a,b', 'c') -split ','") == ["a", "b", "c"]
    assert value(sim, "$l -split ' '", "$l = @('1 2', 'a b')") == ["1", "2", "a", "b"]
    assert value(sim, "'a,b' -split ','") == ["a", "b"]


def test_split_with_a_maximum_is_refused_rather_than_read_as_a_pattern(sim: Simulator) -> None:
    assert "-split" in fails(sim, "$x = 'a,b,c' -split ',', 2").stderr
