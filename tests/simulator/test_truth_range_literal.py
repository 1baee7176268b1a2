"""The range operator with a number literal first (`1..3`), which the tree-sitter grammar reads as a command
name: about_Operators (3.0), "Range operator ..: Represents the sequential integers in an integer array, given
an upper, and lower boundary", e.g. `1..10`, `foreach ($a in 1..$max) {...}`."""

from __future__ import annotations

from simulator_support import fails, lines, ok, simulator, value


def test_a_range_of_number_literals() -> None:
    sim = simulator()
    assert lines(ok(sim, "foreach ($n in 1..3) { $n }")) == ["1", "2", "3"]
    assert value(sim, "$r", "$r = 1..3") == [1, 2, 3]
    assert value(sim, "@(3..1)") == [3, 2, 1]
    assert value(sim, "$r", "$n = 3; $r = 0..($n - 1)") == [0, 1, 2]
    assert lines(ok(sim, "1..2 | ForEach-Object { $_ * 10 }")) == ["10", "20"]


def test_a_range_the_simulator_cannot_read_says_so() -> None:
    stderr = fails(simulator(), "$n = 3; foreach ($i in 1..$n) { $i }").stderr
    assert "range" in stderr and "not recognized" not in stderr
