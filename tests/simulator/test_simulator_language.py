"""The language layer: every construct docs/templates.md lists, with PowerShell's semantics, and the refusals."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simulator_support import HEADER, fails, last_json, lines, ok, simulator, value

from orchestrator.simulator import Simulator
from orchestrator.transport.stdin import channel

QUOTES = "'\u2018\u2019\u201a\u201b"


@pytest.fixture
def sim() -> Simulator:
    return simulator()


def test_variables_assignment_and_compound_assignment(sim: Simulator) -> None:
    assert value(sim, "$a", "$a = 1; $a += 2; $a -= 1; $a *= 5") == 10
    assert value(sim, "$s", "$s = 'ab'; $s += 'cd'") == "abcd"
    assert value(sim, "$l", "$l = @(); $l += 1; $l += @(2, 3)") == [1, 2, 3]
    assert value(sim, "$X", "$x = 'case'") == "case"  # variable names ignore case


def test_verbatim_strings_double_every_quote_kind(sim: Simulator) -> None:
    assert value(sim, "'it''s'") == "it's"
    assert value(sim, "'\u2018\u2018quoted\u2019\u2019'") == "\u2018quoted\u2019"
    assert value(sim, "'$not expanded `n'") == "$not expanded `n"


def test_a_lone_typographic_quote_ends_the_string_as_powershell_reads_it(sim: Simulator) -> None:
    # tree-sitter alone would read one string here; PowerShell reads 'a' followed by ; Write-Output 'b'
    result = ok(sim, "'a\u2019; Write-Output 'b'")
    assert lines(result) == ["a", "b"]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
@settings(max_examples=60, deadline=None)
def test_any_text_survives_the_renderers_quoting(text: str) -> None:
    literal = "'" + "".join(ch * 2 if ch in QUOTES else ch for ch in text) + "'"
    result = Simulator().run(f"ConvertTo-Json -InputObject {literal} -Compress")
    assert result.exit_code == 0, result.stderr
    import json

    assert json.loads(result.stdout) == text


def test_expandable_strings(sim: Simulator) -> None:
    setup = "$name = 'lab'; $vm = [pscustomobject]@{ Name = 'x' }; $n = 3"
    assert value(sim, '"vm $name"', setup) == "vm lab"
    assert value(sim, '"$($vm.Name)-$($n + 1)"', setup) == "x-4"
    assert value(sim, '"$vm.Name"', setup) == "@{Name=x}.Name"
    assert value(sim, '"tab`tquote`"dollar`$name ""dq"""', setup) == 'tab\tquote"dollar$name "dq"'
    assert value(sim, '"${name}s"', setup) == "labs"


def test_numbers_with_multipliers_and_types(sim: Simulator) -> None:
    assert value(sim, "@(1KB, 512MB, 4GB, 2TB, 0x10, 1.5, 1.5GB)") == [
        1024,
        512 * 2**20,
        4 * 2**30,
        2 * 2**40,
        16,
        1.5,
        int(1.5 * 2**30),
    ]
    assert value(sim, "[int]'42' + [long]'4294967296'") == 42 + 4294967296
    assert value(sim, "[string]12 + [bool]1") == "12True"
    assert value(sim, "7 / 2") == 3.5
    assert value(sim, "8 / 2") == 4
    assert value(sim, "7 % 3") == 1


def test_null_booleans_and_truthiness(sim: Simulator) -> None:
    assert value(
        sim,
        "@(($null -eq $x), [bool]'', [bool]'x', [bool]@(), [bool]@(0), [bool]@(1, 0), (!$true), (-not 0))",
    ) == [True, False, True, False, False, True, False, True]
    # the comma binds tighter than -eq, as in PowerShell: this compares $null with a two-element array
    assert value(sim, "$null -eq 1, 2") is False


def test_arrays_hashtables_and_objects(sim: Simulator) -> None:
    setup = (
        "$h = @{ b = 2; a = 1 }; $o = [ordered]@{ z = 1; y = @(1, 2) }; $p = [pscustomobject]@{ Name = 'n' }"
    )
    assert value(sim, "$h.A + $h['B']", setup) == 3  # keys ignore case
    assert value(sim, "$o", setup) == {"z": 1, "y": [1, 2]}
    assert value(sim, "$p.Name", setup) == "n"
    assert value(sim, "$o.Keys", setup) == ["z", "y"]
    assert value(sim, "@(1, 2, 3)[-1]") == 3
    assert value(sim, "@(1, 2, 3).Count") == 3
    assert value(sim, ",@(1)") == [[1]]
    assert value(sim, "$h.Count", setup + "; $h.Add('c', 3); $h.Remove('a')") == 2
    assert value(sim, "$h.ContainsKey('C')", setup + "; $h['c'] = 3") is True


def test_member_and_method_calls(sim: Simulator) -> None:
    setup = "$d = [datetime]'2026-11-25T02:00:00Z'; $s = 'Hello World'"
    assert value(sim, "$d.ToUniversalTime().ToString('o')", setup) == "2026-11-25T02:00:00.0000000Z"
    assert value(sim, "$s.Contains('World')", setup) is True
    assert value(sim, "$s.ToLower().Replace('world', 'you')", setup) == "hello you"
    assert value(sim, "$s.Split(' ')[1]", setup) == "World"
    assert value(sim, "$s.Length", setup) == 11
    assert value(sim, "(1, 2, 3).Contains(2)") is True
    assert value(sim, "$l.Count", "$l = New-Object System.Collections.ArrayList; [void]$l.Add('x')") == 1


def test_static_members(sim: Simulator) -> None:
    encoded = value(sim, "[Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes('Get-VM'))")
    assert base64.b64decode(encoded).decode("utf-16-le") == "Get-VM"
    guid = value(sim, "[Guid]::NewGuid().ToString()")
    assert len(guid) == 36 and guid.count("-") == 4
    assert value(sim, "[DateTime]::UtcNow.ToString('o')") == "2026-11-25T01:00:00.0000000Z"
    assert value(sim, "[string]::IsNullOrEmpty('')") is True
    assert value(sim, "[Math]::Max(3, 9)") == 9


def test_comparison_operators(sim: Simulator) -> None:
    assert value(
        sim,
        "@(('A' -eq 'a'), ('a' -ceq 'A'), (5 -gt '4'), (2 -le 2), ('lab-01' -like 'LAB-*'), "
        "('x' -notlike 'y*'))",
    ) == [True, False, True, True, True, True]
    assert value(sim, "@(('lab-12' -match '(\\d+)$'), $Matches[1])") == [True, "12"]
    assert value(
        sim, "@((2 -in @(1, 2)), (3 -notin @(1, 2)), (@(1, 2) -contains 2), (@('a') -notcontains 'a'))"
    ) == [True, True, True, False]
    assert value(sim, "@(1, 2, 3, 2) -eq 2") == [2, 2]
    assert value(sim, "'a-b' -replace '-', '+'") == "a+b"
    assert value(sim, "@(('x' -is [string]), (1 -is [string]))") == [True, False]


def test_containment_ignores_case_unless_asked_with_c(sim: Simulator) -> None:
    """-contains starts with a c but is not the case-sensitive form: that is -ccontains (about_Comparison_Operators,
    3.0: every comparison operator is case-insensitive unless its name is preceded by a "c"). A checkpoint id
    written in capitals on the marker line is still one the VM has."""
    assert value(
        sim,
        "@((@('abc', 'def') -contains 'ABC'), (@('abc') -ccontains 'ABC'), (@('abc') -icontains 'ABC'), "
        "(@('abc') -notcontains 'ABC'), ('ABC' -in @('abc')))",
    ) == [True, False, True, False, True]


def test_matches_is_set_by_a_scalar_match_only(sim: Simulator) -> None:
    """about_Comparison_Operators (3.0): a scalar -match or -notmatch that finds the pattern sets $Matches; a
    collection's -match returns its matching members and leaves $Matches as it was, so a script that reads
    $Matches after matching an array gets the older value on Windows, and here too."""
    assert value(sim, "@((@('lab-07', 'x') -match '(\\d+)$'), $Matches[1])", "$null = 'old-1' -match '(\\d)'") == [
        ["lab-07"],
        "1",
    ]
    assert value(sim, "@(('lab-12' -notmatch '(\\d+)$'), $Matches[1])") == [False, "12"]
    assert value(sim, "@(('lab' -match '(\\d+)$'), $Matches[0])", "$null = 'a9' -match '\\d'") == [False, "9"]


def test_logical_operators_short_circuit(sim: Simulator) -> None:
    assert value(sim, "@(($true -and $false), ($false -or 1), (-not $false), ($true -xor $true))") == [
        False,
        True,
        True,
        False,
    ]
    ok(sim, "if ($false -and (Get-VM -Name 'does-not-exist')) { throw 'evaluated' }")


def test_format_operator(sim: Simulator) -> None:
    assert value(sim, "'{0}-{1:D2}' -f 'lab', 7") == "lab-07"
    assert value(sim, "'{{literal}} {0}' -f 1") == "{literal} 1"


def test_if_elseif_else(sim: Simulator) -> None:
    script = "foreach ($n in 1, 2, 3) { if ($n -eq 1) { 'one' } elseif ($n -eq 2) { 'two' } else { 'many' } }"
    assert lines(ok(sim, script)) == ["one", "two", "many"]


def test_loops_break_and_continue(sim: Simulator) -> None:
    script = """
$out = @()
for ($i = 0; $i -lt 10; $i++) { if ($i -eq 1) { continue }; if ($i -ge 4) { break }; $out += $i }
$j = 0
while ($j -lt 3) { $j++ }
foreach ($x in @()) { $out += 'never' }
$out += $j
ConvertTo-Json -InputObject $out -Compress
"""
    assert last_json(ok(sim, script)) == [0, 2, 3, 3]


def test_try_catch_finally_and_throw(sim: Simulator) -> None:
    script = """
$log = @()
try { $log += 'try'; throw 'boom' ; $log += 'not here' }
catch { $log += 'caught ' + $_.Exception.Message; $log += $_.ToString() }
finally { $log += 'finally' }
try { Get-VM -Name 'missing' } catch { $log += $_.Exception.Message }
ConvertTo-Json -InputObject $log -Compress
"""
    assert last_json(ok(sim, HEADER + script)) == [
        "try",
        "caught boom",
        "boom",
        "finally",
        'Hyper-V was unable to find a virtual machine with name "missing".',
    ]


def test_uncaught_throw_fails_the_run(sim: Simulator) -> None:
    result = fails(sim, "Write-Output 'before'\nthrow 'it broke'\nWrite-Output 'after'")
    assert result.exit_code == 1
    assert lines(result) == ["before"]
    assert "it broke" in result.stderr


def test_exit_codes(sim: Simulator) -> None:
    result = sim.run("Write-Output 'x'; exit 7")
    assert (result.exit_code, lines(result)) == (7, ["x"])
    assert sim.run("exit").exit_code == 0


def test_functions_with_param_and_return(sim: Simulator) -> None:
    script = """
function Get-Double {
    param([int]$Value, [switch]$Negate, $Suffix = 'x')
    if ($Negate) { return -2 * $Value }
    return "$(2 * $Value)$Suffix"
}
ConvertTo-Json -InputObject @((Get-Double -Value 4), (Get-Double 5 -Negate), (Get-Double -Val 1 -Suffix 'y')) -Compress
"""
    assert last_json(ok(sim, script)) == ["8x", -10, "2y"]


def test_an_ambiguous_parameter_prefix_of_a_function_is_refused_as_powershell_words_it(sim: Simulator) -> None:
    """`-N` matches both -Name and -Number: PowerShell refuses it as ambiguous and lists the candidates
    (PowerShell/PowerShell#6343; FullyQualifiedErrorId AmbiguousParameter). The names are listed as the
    simulator keeps them, in lower case (a real host lists them as declared)."""
    script = "function F { param($Name, $Number) \"$Name/$Number\" }\nF -N 1\n"
    result = fails(sim, script)
    assert "Parameter cannot be processed because the parameter name 'N' is ambiguous. Possible matches " \
           "include: -name -number." in result.stderr
    assert lines(ok(sim, "function F { param($Name, $Number) \"$Name/$Number\" }\nF -Na 1 -Nu 2\n")) == ["1/2"]


def test_pipelines_with_dollar_underscore(sim: Simulator) -> None:
    script = "@(3, 1, 2) | Where-Object { $_ -gt 1 } | ForEach-Object { $_ * 10 } | Sort-Object"
    assert lines(ok(sim, script)) == ["20", "30"]
    script = "$m = @(1, 2, 3) | Measure-Object -Sum; $m.Sum; $m.Count"
    assert lines(ok(sim, script)) == ["6", "3"]
    objs = "@([pscustomobject]@{ N = 'b'; V = 2 }, [pscustomobject]@{ N = 'a'; V = 1 })"
    assert value(sim, f"@({objs} | Sort-Object -Property N | Select-Object -ExpandProperty V)") == [1, 2]
    assert value(sim, f"@({objs} | Select-Object N)") == [{"N": "b"}, {"N": "a"}]
    assert value(sim, f"@({objs} | Select-Object -First 1).Count") == 1


def test_splatting_and_switch_false(sim: Simulator) -> None:
    script = (
        HEADER
        + """
$p = @{ Path = 'C:\\data'; ItemType = 'Directory' }
New-Item @p | Out-Null
New-Item @p -Force:$true | Out-Null
Test-Path -Path 'C:\\data' -PathType Container
"""
    )
    assert lines(ok(sim, script)) == ["True"]
    assert (
        "already exists"
        in fails(sim, HEADER + "New-Item -Path 'C:\\data' -ItemType Directory -Force:$false").stderr
    )


def test_script_blocks_and_call_operator(sim: Simulator) -> None:
    script = "$sb = { param($a, $b) $a + $b }\n& $sb 2 3\n& { 'inline' }\n$args2 = @(4, 5)\n& $sb @args2"
    assert lines(ok(sim, script)) == ["5", "inline", "9"]


def test_error_variables(sim: Simulator) -> None:
    script = """
Get-VM -Name 'ghost' -ErrorAction SilentlyContinue
$Error[0].Exception.Message
$Error.Count
"""
    assert lines(ok(sim, script)) == ['Hyper-V was unable to find a virtual machine with name "ghost".', "1"]
    assert lines(ok(sim, "$LASTEXITCODE")) == ["0"]


def test_non_terminating_errors_continue_without_stop(sim: Simulator) -> None:
    result = sim.run("Get-VM -Name 'ghost'\nWrite-Output 'still running'")
    assert lines(result) == ["still running"]
    assert "unable to find a virtual machine" in result.stderr


def test_write_error_is_fatal_under_stop(sim: Simulator) -> None:
    result = fails(sim, HEADER + "Write-Error 'custom failure'\n'unreached'")
    assert "custom failure" in result.stderr and lines(result) == []


def test_stdin_bootstrap_runs_the_script_from_stdin(sim: Simulator) -> None:
    script = HEADER + "$x = [ordered]@{ ok = $true }\n$x | ConvertTo-Json -Compress\nexit 3"
    result = sim.run(*channel(script))
    assert (result.exit_code, lines(result)) == (3, ['{"ok":true}'])


def test_syntax_errors_report_line_and_column(sim: Simulator) -> None:
    result = fails(sim, "$a = 1\nif ($a -eq 1 {\n  'x'\n}\n")
    assert result.exit_code == 1
    assert "At line:2 char:" in result.stderr
    through_bootstrap = sim.run(*channel("Write-Output 'ok'\n$h = @{ a = }\n"))
    assert through_bootstrap.exit_code == 1 and "At line:2" in through_bootstrap.stderr


def test_unsupported_constructs_are_named_with_their_line(sim: Simulator) -> None:
    # A class is PowerShell 5.0: a 2016 host (5.1) has it, and the simulator names it as not modelled.
    result = fails(simulator(os_version="10.0"), "Write-Output 'fine'\nclass Foo { }\n")
    assert "does not support" in result.stderr and "line 2" in result.stderr
    assert lines(result) == []  # refused before anything ran
    result = fails(sim, "'a'\n\n'b' > C:\\out.txt\n")
    assert "redirection" in result.stderr and "line 3" in result.stderr


def test_unknown_command_uses_powershell_wording(sim: Simulator) -> None:
    result = fails(sim, HEADER + "Get-Foo -Bar 1")
    assert "The term 'Get-Foo' is not recognized as the name of a cmdlet" in result.stderr


def test_typographic_dashes_work_as_parameter_dashes(sim: Simulator) -> None:
    assert lines(ok(sim, "Test-Path \u2013Path 'C:\\nope'")) == ["False"]


def test_run_never_raises_on_script_problems(sim: Simulator) -> None:
    for script in ("$x = ", "[NoSuchType]::Foo()", "& $null", "@{a=1} + 5", "$x.Foo().Bar()", "1/0"):
        result = sim.run(script)
        assert result.exit_code == 1, script


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(_json_values)
@settings(max_examples=120, deadline=None)
def test_the_renderers_literals_evaluate_to_the_same_value(data: object) -> None:
    """Whatever the inventory holds, the renderer's literal reads back as exactly that value: never as code."""
    import json

    from hypothesis import assume

    from orchestrator.pwsh import LiteralError, literal

    try:
        source = literal(data)
    except LiteralError:
        assume(False)
        return
    if isinstance(data, dict):
        assume(len({k.lower() for k in data}) == len(data))  # PowerShell hashtable keys ignore case
        assume(all(len({k.lower() for k in v}) == len(v) for v in _dicts(data)))
    assume(all(len({k.lower() for k in v}) == len(v) for v in _dicts(data)))
    sim = Simulator()
    result = sim.run(f"$v = {source}\nConvertTo-Json -InputObject $v -Compress -Depth 30")
    assert result.exit_code == 0, (source, result.stderr)
    assert sim.mutations == 0
    out = result.stdout.strip()
    assert json.loads(out) == data if out else data is None


def _dicts(value: object) -> list[dict]:
    found: list[dict] = []
    if isinstance(value, dict):
        found.append(value)
        for v in value.values():
            found.extend(_dicts(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(_dicts(v))
    return found


def test_one_line_functions_with_param_blocks(sim: Simulator) -> None:
    script = "function Add-One { param($Value) $Value + 1 }\nfunction Get-Pair { param([string]$a, $b = '(x)') \"$a$b\" }\n" \
             "Add-One -Value 41\nGet-Pair 'p'\n$x = 1 +\n"
    result = sim.run(script)
    assert "At line:5" in result.stderr  # line numbers still count the original lines
    assert lines(ok(sim, script.rsplit("\n", 2)[0])) == ["42", "p(x)"]


def test_exit_code_follows_the_last_statement_like_powershell_exe(sim: Simulator) -> None:
    assert sim.run("Get-VM -Name 'ghost' -ErrorAction SilentlyContinue\n'fine'").exit_code == 0
    assert sim.run(*channel("Get-VM -Name 'ghost' -ErrorAction SilentlyContinue\n'fine'")).exit_code == 0
    assert sim.run("'fine'\nGet-VM -Name 'ghost'").exit_code == 1


def test_intrinsic_count_of_null_and_scalars(sim: Simulator) -> None:
    assert value(sim, "@($null.Count, $x.Count, 'abc'.Count, 5.Count, (Get-Date).Count)") == [0, 0, 1, 1, 1]


def test_subtracting_dates_gives_a_timespan_as_dotnet_does(sim: Simulator) -> None:
    """[DateTime] - [DateTime] is a [TimeSpan] (.NET's op_Subtraction); before, the simulator answered with a
    misleading cast error, so a deadline loop written that way could not be tried here."""
    result = ok(sim, "$start = [DateTime]::UtcNow; Start-Sleep -Seconds 90\n"
                     "$spent = [DateTime]::UtcNow - $start\n"
                     "[int]$spent.TotalSeconds; $spent -is [TimeSpan]\n"
                     "([DateTime]::UtcNow - $spent) -is [DateTime]")
    assert lines(result) == ["90", "True", "True"]
    refused = fails(sim, "$ErrorActionPreference = 'Stop'; [DateTime]::UtcNow - 5")
    assert "subtract a [DateTime] or a [TimeSpan]" in refused.stderr


@settings(max_examples=300)
@given(
    inner=st.text(alphabet=st.sampled_from("aAbB<>/ .\nKk\u212aſsS"), min_size=1, max_size=6),
    text=st.text(alphabet=st.sampled_from("aAbB<>/ .\nKk\u212aſsSxy"), max_size=30),
)
def test_like_with_stars_around_plain_text_is_a_substring_test(inner: str, text: str) -> None:
    """'*text*' takes a shortcut (a substring test, for the facts' filter on long XML items): it answers as the
    wildcard match does, case-insensitively, across line breaks, for any letters (the Kelvin sign and the long
    s fold in a regex, not in lower(): those texts go the regex way)."""
    import fnmatch
    import re

    from orchestrator.simulator.language.values import like

    reference = re.compile(fnmatch.translate(inner and f"*{inner}*"), re.IGNORECASE | re.DOTALL)
    assert like(text, f"*{inner}*") == (reference.match(text) is not None)


def test_a_fleet_of_distinct_like_patterns_keeps_answering_with_bounded_memos() -> None:
    """A pattern built from a host's own values is new on every host of a dry run: past the memos' bound
    -like still answers right, and neither memo grows further."""
    from orchestrator.simulator.language import values

    for i in range(values._PATTERN_MEMO_MAX + 50):
        assert values.like(f"x-host{i:05d}-lab", f"*host{i:05d}*")
        assert values.like(f"host{i:05d}-lab", f"host{i:05d}-l?b")
        assert not values.like(f"host{i:05d}-lab", f"host{i + 1:05d}-l?b")
    assert len(values._STAR_INNER) <= values._PATTERN_MEMO_MAX
    assert len(values._LIKE_CACHE) <= values._PATTERN_MEMO_MAX


def test_an_array_parameter_keeps_every_element(sim: Simulator) -> None:
    """`param([string[]]$Files)` binds an array element by element (about_Assignment_Operators, 3.0: "casts the
    variable as a string [] array type"); the simulator once read the type as [string] and joined the array into
    one text, so `-contains` found nothing (audit M H1)."""
    setup = "function Measure-Files { param([string[]]$Files) @{ n = @($Files).Count; has = ($Files -contains 'b') } }"
    assert value(sim, "Measure-Files -Files @('a', 'b')", setup) == {"n": 2, "has": True}
    assert value(sim, "Measure-Files -Files 'b'", setup) == {"n": 1, "has": True}
    assert value(sim, "Measure-Files -Files @()", setup) == {"n": 0, "has": False}
    assert value(sim, "@(Sum-Ints -Numbers @(1, 2)).Count",
                 "function Sum-Ints { param([int[]]$Numbers) $Numbers }") == 2


def test_a_parameter_type_the_simulator_does_not_model_fails_the_call(sim: Simulator) -> None:
    result = fails(sim, "function Use-Span { param([System.TimeSpan]$Span) $Span }\nUse-Span -Span 5")
    assert "does not support the type [system.timespan]" in result.stderr


def test_a_counter_bumped_on_its_own_line_writes_nothing(sim: Simulator) -> None:
    """"When you use the increment operator in a simple statement, no value is returned" (about_Assignment_Operators,
    3.0; the decrement operator likewise). A helper that counts with `$n++` returns only what it means to return;
    in parentheses or an assignment the operator still gives its value (audit M M1)."""
    assert value(sim, "@(Get-Result).Count", "function Get-Result { $n = 0; $n++; ++$n; $n--; --$n; 'r' }") == 1
    assert lines(ok(sim, "$i = 0\n$i++\nwhile ($i -lt 3) { $i++ }\n'x'")) == ["x"]
    assert value(sim, "@(($i++), $i, ($i--), (++$i), $c)", "$i = 5; $c = $i++") == [6, 7, 7, 7, 5]


def test_a_variable_declared_with_a_type_keeps_it(sim: Simulator) -> None:
    """"When you precede a variable name with a data type, the type of that variable is locked": every later
    assignment converts, or fails with the conversion error (about_Assignment_Operators, 3.0, with its examples
    `[string]$a = 27; $a += 3` giving 273 and `[int]$a = 3; $a = "string"` failing). A function's own `$a` is
    a new variable of its scope, and a new type on the variable replaces the old one (audit M M3)."""
    assert value(sim, "$a", "[string]$a = 27; $a += 3") == "273"
    assert value(sim, "$s -is [string]", "[string]$s = 'a'; $s = 5") is True
    assert value(sim, "$n", "[int]$n = 1; $n += 1.6; $n++") == 4
    assert value(sim, "$i", "[int]$i = 0; foreach ($i in '7', '8') { }") == 8
    result = fails(sim, '[int]$a = 3\n$a = "string"')
    assert 'Cannot convert value "string" to type "System.Int32"' in result.stderr
    assert value(sim, "@($a, (Set-Local))", "[int]$a = 3; function Set-Local { $a = 'text'; $a }") == [3, "text"]
    assert value(sim, "$a", "[int]$a = 3; [string]$a = 'x'; $a = 'y'") == "y"
    assert value(sim, "$a", "$a = 3; $a = 'string'") == "string"  # an untyped variable takes any value


def test_a_typed_parameter_given_null_or_nothing_reads_as_its_types_empty_value(sim: Simulator) -> None:
    """PowerShell converts `$null` for a `[string]` parameter to '' ("by design": PowerShell/PowerShell#4616),
    so `$null -eq $Path` is false inside the function; an `[int]` reads 0, a `[bool]` or `[switch]` $false,
    whether the caller passed `$null` or left the parameter out (audit M M2). An untyped or `[string[]]`
    parameter left out stays `$null`."""
    setup = ("function Show-Defaults { param([string]$Text, [int]$Count, [long]$Size, [bool]$Flag, [switch]$On,"
             " $Any, [string[]]$Names) @($Text, $Count, $Size, $Flag, $On, ($null -eq $Any), ($null -eq $Names)) }")
    assert value(sim, "Show-Defaults", setup) == ["", 0, 0, False, False, True, True]
    assert value(sim, "Show-Defaults -Text $null -Count $null -Size $null", setup) == [
        "", 0, 0, False, False, True, True]
    assert value(sim, "Test-Null -Path $null", "function Test-Null { param([string]$Path) $null -eq $Path }") is False


def test_a_guid_is_no_string_until_it_is_cast_to_one(sim: Simulator) -> None:
    """System.Guid has CompareTo, Equals, GetHashCode, ToByteArray and ToString, no string methods
    (learn.microsoft.com, Guid members, .NET Framework 4.5): `$vm.Id.ToUpper()` fails on a host with "Method
    invocation failed because [System.Guid] does not contain a method named 'ToUpper'", so every template casts
    first (`([string]$vm.Id).ToUpper()`). Its Length is the scalar's 1; -eq against its text, [string], and
    ConvertTo-Json still give the text (audit M M4)."""
    setup = "$g = [guid]'7afa0bf1-5e3c-4b4f-9d6c-2f1d1e0b9a11'"
    for method in ("ToUpper()", "Replace('-', '')", "Substring(0, 8)", "ToLower()", "Split('-')"):
        result = fails(sim, f"{setup}\n$g.{method}")
        name = method.split("(")[0]
        assert f"Method invocation failed because [System.Guid] does not contain a method named '{name}'" in (
            result.stderr)
    assert value(sim, "@(($g -is [string]), ($g -is [guid]), $g.Length, $g.Count, ($g[0] -is [guid]))", setup) == [
        False, True, 1, 1, True]
    assert value(sim, "([string]$g).ToUpper()", setup) == "7AFA0BF1-5E3C-4B4F-9D6C-2F1D1E0B9A11"
    assert value(sim, "@(($g -eq '7AFA0BF1-5E3C-4B4F-9D6C-2F1D1E0B9A11'), $g.ToString(), \"$g\", $g)", setup) == [
        True, "7afa0bf1-5e3c-4b4f-9d6c-2f1d1e0b9a11", "7afa0bf1-5e3c-4b4f-9d6c-2f1d1e0b9a11",
        "7afa0bf1-5e3c-4b4f-9d6c-2f1d1e0b9a11"]
    assert value(sim, "([string][guid]::NewGuid()).Replace('-', '').Length") == 32
    assert "op_Addition" in fails(sim, f"{setup}\n$g + 'x'").stderr
    assert value(sim, "'id ' + $g", setup) == "id 7afa0bf1-5e3c-4b4f-9d6c-2f1d1e0b9a11"


def test_time_spans_dates_and_the_powershell_version_answer_their_members_or_name_the_missing_one(
        sim: Simulator) -> None:
    """TimeSpan's Hours/Minutes/Seconds/Milliseconds are the span's components and TotalMilliseconds its length
    (System.TimeSpan, .NET 4.5), DateTime has Millisecond and DayOfYear, and `$PSVersionTable.PSVersion` is a
    System.Version (Major, Minor; its text "3.0" as before). A member the simulator does not model fails with
    its name instead of reading $null, as dotnet.py promises: a wait that read `$span.Minutes` as $null would
    take another branch than on the host (audit M M5)."""
    span = "$s = (Get-Date).AddSeconds(75).AddMilliseconds(250) - (Get-Date)"
    assert value(sim, "@($s.TotalSeconds, $s.Hours, $s.Minutes, $s.Seconds, $s.Milliseconds, $s.TotalMilliseconds,"
                      " $s.Days)", span) == [75.25, 0, 1, 15, 250, 75250, 0]
    assert value(sim, "@($s.Hours, $s.Minutes, $s.Days)", "$s = (Get-Date).AddMinutes(-90) - (Get-Date)") == [
        -1, -30, 0]
    assert value(sim, "@($d.Millisecond, $d.DayOfYear)", "$d = [datetime]'2026-02-03 04:05:06'") == [0, 34]
    on_2012 = simulator(os_version="6.2")
    assert value(on_2012, "@($v.Major, $v.Minor, $v.Build, \"$v\", ($v.Major -ge 4), ($v -lt '4.0'))",
                 "$v = $PSVersionTable.PSVersion") == [3, 0, -1, "3.0", False, True]
    assert lines(ok(sim, "$PSVersionTable.PSVersion.Major; $PSVersionTable.PSVersion")) == ["4", "4.0"]
    for script in (f"{span}\n$s.TotalWeeks", "(Get-Date).Nanosecond", "$PSVersionTable.PSVersion.Patch"):
        assert "does not model" in fails(sim, script).stderr


def test_a_script_function_binds_its_arguments_as_strictly_as_powershell(sim: Simulator) -> None:
    """A named parameter without its value fails ("Missing an argument for parameter 'A'. Specify a parameter of
    type 'System.Object' and try again.", MissingArgument); a [bool] (or an explicit [switch] value) takes only
    Booleans and numbers ("Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or
    0."); a Mandatory parameter left out fails, as it does in the orchestrator's non-interactive session, and so
    does one given $null or '' (audit M M6)."""
    missing = fails(sim, "function Use-A { param($A, [string]$B) $A }\nUse-A -A")
    assert "Missing an argument for parameter 'A'. Specify a parameter of type 'System.Object'" in missing.stderr
    assert "type 'System.String'" in fails(sim, "function Use-A { param($A, [string]$B) $A }\nUse-A -B -A 1").stderr
    assert value(sim, "Use-A -A 1 -B x", "function Use-A { param($A, [string]$B) \"$A$B\" }") == "1x"
    boolean = "function Use-B { param([bool]$B, [switch]$S) @($B, $S) }"
    assert value(sim, "Use-B -B 1 -S:$true", boolean) == [True, True]
    assert value(sim, "Use-B -B $false -S:0", boolean) == [False, False]
    for call in ("Use-B -B 'x'", "Use-B -B 'true'", "Use-B -S:'yes'", "Use-B -B $null"):
        assert "Boolean parameters accept only Boolean values and numbers" in fails(sim, f"{boolean}\n{call}").stderr
    mandatory = ("function Use-M { param([Parameter(Mandatory=$true)][string]$Name, [Parameter(Mandatory=$false)]$Opt,"
                 " [Parameter(Mandatory)]$Also) \"$Name$Also\" }")
    assert value(sim, "Use-M -Name a -Also b", mandatory) == "ab"
    assert value(sim, "Use-M a -Also b", mandatory) == "ab"
    assert "missing mandatory parameters: Also." in fails(sim, f"{mandatory}\nUse-M -Name a").stderr
    assert "missing mandatory parameters: Name Also." in fails(sim, f"{mandatory}\nUse-M").stderr
    assert "because it is an empty string" in fails(sim, f"{mandatory}\nUse-M -Name '' -Also 1").stderr
    assert "because it is null" in fails(sim, f"{mandatory}\nUse-M -Name a -Also $null").stderr


def test_backtick_e_is_only_an_e_in_windows_powershell(sim: Simulator) -> None:
    """about_Special_Characters (3.0) lists `0 `a `b `f `n `r `t `v, case-sensitive; the escape character `e came
    with PowerShell 6, so on a 2012 host "a`eb" is "aeb" (audit M L4)."""
    assert value(sim, '"a`eb"') == "aeb"
    assert value(sim, '"1`t2`N"') == "1\t2N"


def test_the_remainder_takes_the_sign_of_the_dividend(sim: Simulator) -> None:
    """PowerShell's % is .NET's remainder: its sign is the dividend's (-7 % 3 is -1, 7 % -3 is 1), and % by zero
    fails as / does (audit M L8)."""
    assert value(sim, "@((-7 % 3), (7 % -3), (7 % 3), (-7.5 % 2))") == [-1, 1, 1, -1.5]
    assert "Attempted to divide by zero." in fails(sim, "5 % 0").stderr
