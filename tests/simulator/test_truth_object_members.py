"""Members Windows PowerShell 3.0 objects do not have (audit F, L2-L4): the simulator had them, so a template
relying on one would pass here and fail on a real host."""

from __future__ import annotations

from simulator_support import HEADER, fails, lines, ok, simulator


def test_an_ordered_dictionary_has_no_containskey() -> None:
    # [ordered] is an OrderedDictionary: Contains(Object), and no ContainsKey (its .NET page).
    assert "does not contain a method named 'ContainsKey'" in fails(
        simulator(), HEADER + "$o = [ordered]@{ a = 1 }\n$o.ContainsKey('a')").stderr
    assert lines(ok(simulator(), HEADER + "$o = [ordered]@{ a = 1 }\n$o.Contains('a')\n@{ a = 1 }.ContainsKey('A')")) == [
        "True", "True"]


def test_a_pscustomobject_has_no_count_in_windows_powershell() -> None:
    result = ok(simulator(), HEADER + "$p = [pscustomobject]@{ a = 1 }\n$null -eq $p.Count\n@($p).Count")
    assert lines(result) == ["True", "1"]


def test_no_method_can_be_called_on_null() -> None:
    assert "You cannot call a method on a null-valued expression." in fails(
        simulator(), HEADER + "$x = $null\n$x.ToString()").stderr


def test_a_mandatory_parameter_takes_no_null_or_empty_string_unless_the_cmdlet_allows_it() -> None:
    # Windows PowerShell's binder (PowerShell/PowerShell#8076): Test-Path returning False for them is 7's.
    sim = simulator()
    assert "because it is null" in fails(sim, HEADER + "$p = $null\nTest-Path -LiteralPath $p").stderr
    assert "because it is an empty string" in fails(sim, HEADER + "Test-Path -LiteralPath ''").stderr
    # [AllowNull] / [AllowEmptyString] in PowerShell's own source: Write-Output's InputObject, Join-Path's ChildPath.
    assert lines(ok(sim, HEADER + "Write-Output $null\nJoin-Path -Path 'C:\\VMs' -ChildPath ''")) == ["C:\\VMs\\"]


def test_each_element_of_a_mandatory_array_argument_is_checked_for_null_or_empty_too() -> None:
    # PowerShell's ParameterBinderBase.BindParameter validates a mandatory parameter's value with
    # ValidateNullOrEmptyArgument(..., recurseIntoCollections: true): an array holding $null or '' is refused.
    sim = simulator()
    assert "because it is null" in fails(sim, HEADER + "Test-Path -LiteralPath @('C:\\VMs', $null)").stderr
    assert "because it is an empty string" in fails(sim, HEADER + "Test-Path -LiteralPath @('C:\\VMs', '')").stderr
    assert lines(ok(sim, HEADER + "Write-Output -InputObject @('a', $null, 'b')")) == ["a", "b"]


def test_a_double_reads_as_dot_net_framework_writes_it() -> None:
    # Double.ToString() is "G" (15 significant digits) on .NET Framework; round-trip text is .NET Core 3.0's.
    assert lines(ok(simulator(), HEADER + "[string](0.1 + 0.2)\n'x' + 1.5\n[string]1e20")) == ["0.3", "x1.5", "1E+20"]


def test_an_integer_beyond_its_type_fails_the_conversion() -> None:
    # .NET's OverflowException, as PowerShell's cast and binder report it; the simulator took any size.
    sim = simulator()
    assert "too large or too small for an Int32" in fails(sim, HEADER + "[int]3000000000").stderr
    assert "too large or too small for an Int32" in fails(sim, HEADER + "Start-Sleep -Seconds 3000000000").stderr
    assert lines(ok(sim, HEADER + "[int]2147483647\n[long]3000000000")) == ["2147483647", "3000000000"]


def test_replace_reads_its_replacement_as_dot_net_does() -> None:
    # .NET substitutions: $0 the match, $$ a dollar, a backslash as it is; the simulator had Python's rules.
    result = ok(simulator(), HEADER + "\n".join([
        "'ab' -replace 'a', '$0$0'", "'ab' -replace 'a', '$$'", "'a\\b' -replace 'b', 'c\\d'",
        "'ab' -replace '(?<x>a)', '${x}!'", "'[x]' -replace '([\\[\\]])', '`$1'",
    ]))
    assert lines(result) == ["aab", "$b", "a\\c\\d", "a!b", "`[x`]"]


def test_an_object_is_read_by_its_properties_not_by_a_string_index() -> None:
    # `$o['a']` on a [pscustomobject] is CannotIndex (poshprotools#278); the simulator returned the property, so
    # a template written that way passed here. The property is the way.
    sim = simulator()
    assert "Unable to index into an object of type System.Management.Automation.PSCustomObject." in fails(
        sim, HEADER + "$o = [pscustomobject]@{ a = 1 }\n$o['a']").stderr
    assert lines(ok(sim, HEADER + "$o = [pscustomobject]@{ a = 1 }\n$o.a\n$o[0].a")) == ["1", "1"]


def test_a_hash_literal_with_a_key_twice_does_not_parse() -> None:
    # Windows PowerShell's parser refuses it (DuplicateKeyInHashLiteral), keys compared ignoring case; the
    # simulator kept the last value.
    sim = simulator()
    for text in ("@{ a = 1; A = 2 }", "[ordered]@{ name = 1\n  Name = 2 }", "if ($false) { @{ a = 1; a = 2 } }",
                 "@{ 'a' = 1; 'A' = 2 }"):
        assert "Duplicate keys" in fails(sim, HEADER + text).stderr, text
    assert lines(ok(sim, HEADER + "$h = @{ a = 1; b = 2 }\n$h.Count")) == ["2"]


def test_a_2012_vm_has_no_generation_and_its_facts_read_generation_1() -> None:
    """Generation 2 came with 2012 R2 (New-VM.md of 2012 has no -Generation): a 2012 VM object has no such
    property, so `$vm.Generation` is $null there and a template must read that as generation 1."""
    from orchestrator.facts import parse_facts_json
    from orchestrator.model import Connection, HostSpec
    from orchestrator.render import Renderer

    sim = simulator(os_version="6.2")
    ok(sim, HEADER + "New-VM -Name 'lab-01' -MemoryStartupBytes 2GB -NoVHD -Confirm:$false | Out-Null")
    assert lines(ok(sim, HEADER + "$vm = Get-VM -Name 'lab-01'\n$null -eq $vm.Generation\n"
                              "$vm.Generation -ne 2")) == ["True", "True"]
    facts = parse_facts_json(ok(sim, Renderer().render_facts(HostSpec("hv01", Connection(kind="simulator")))).stdout)
    assert facts.vms["lab-01"].generation == 1
    r2 = simulator(os_version="6.3")
    ok(r2, HEADER + "New-VM -Name 'lab-01' -MemoryStartupBytes 2GB -NoVHD -Generation 2 -Confirm:$false | Out-Null")
    assert lines(ok(r2, HEADER + "(Get-VM -Name 'lab-01').Generation")) == ["2"]
