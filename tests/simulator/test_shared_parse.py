"""A fleet's dry run parses each script shape once: the shared tree must change nothing a host decides.

The admin previews `apply --dry-run` of many hosts; each host's apply script differs from the next only in
its names and paths (single-quoted literals), so the simulator converts the first script of a shape and
reuses that tree for the others (orchestrator/simulator/language/shapes.py). Whatever a host lacks (its
PowerShell version's parameters, the Hyper-V role, a switch, room) must still refuse that host's script,
with the very message a cold parse gives.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.simulator import RunResult, Simulator
from orchestrator.simulator.language import parser
from orchestrator.simulator.language.ast import Node

GIB = 1024**3


def _facts(version: str = "6.3.9600", *, hyperv: bool = True, switches: tuple[str, ...] = ("Classroom LAN",),
           memory: int = 64 * GIB, vms: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """A facts document as a host reports it (the parts `Simulator.from_facts` reads)."""
    return {
        "host": {"computer_name": "HV", "os_version": version, "os_sku": 8, "hyperv_installed": hyperv,
                 "logical_processors": 16, "memory_total": memory},
        "switches": list(switches),
        "vms": list(vms),
        "paths": {}, "images": {}, "tasks": [], "kvp": [],
    }


def _create(name: str, notes: str) -> str:
    """A converge script of the renderer's kind: every inventory value a single-quoted literal."""
    quoted = name.replace("'", "''")
    return (
        "$ErrorActionPreference = 'Stop'\n"
        "$ProgressPreference = 'SilentlyContinue'\n"
        f"$vmName = '{quoted}'\n"
        "if ($null -eq (Get-VM | Where-Object -FilterScript { $_.Name -eq $vmName })) {\n"
        "    $vm = New-VM -Name $vmName -Generation 2 -MemoryStartupBytes 4294967296 -NoVHD "
        "-SwitchName 'Classroom LAN' -Confirm:$false\n"
        f"    Set-VM -VM $vm -Notes '{notes}' -Confirm:$false\n"
        "}\n"
        "$report = [ordered]@{ name = $vmName; notes = (Get-VM -Name $vmName).Notes }\n"
        "Write-Output (ConvertTo-Json -InputObject $report -Compress)\n"
    )


def _cold() -> None:
    parser.parse.cache_clear()
    parser.SHAPES.clear()


@pytest.fixture
def cold_caches() -> Iterator[None]:
    _cold()
    yield
    _cold()


def _preflight(facts: dict[str, Any], script: str) -> RunResult:
    """What the runner's dry run does for one host."""
    return Simulator.from_facts(facts).run(script)


def _cold_preflight(facts: dict[str, Any], script: str) -> RunResult:
    _cold()
    try:
        return _preflight(facts, script)
    finally:
        _cold()


@pytest.mark.usefixtures("cold_caches")
def test_a_2012_host_refuses_a_2012_r2_parameter_in_a_shape_other_hosts_parsed() -> None:
    # Given a fleet whose 2012 R2 host passed the preflight of a script with New-VM -Generation, and whose
    # first 2012 host was refused it (New-VM of Windows Server 2012 has no -Generation: New-VM.md of
    # docset/winserver2012-ps lists none; Windows PowerShell 3.0 there, 4.0 on 2012 R2)
    assert _preflight(_facts(), _create("lab-01", "row 1")).ok
    first_2012 = _preflight(_facts("6.2.9200"), _create("lab-02", "row 2"))
    assert (parser.SHAPES.hits, parser.SHAPES.misses) == (0, 2)  # one parse per PowerShell version
    hits = parser.SHAPES.hits
    # When a second 2012 host's script of that shape is preflighted
    script = _create("lab-03", "row 3")
    warm = _preflight(_facts("6.2.9200"), script)
    # Then its tree came from the cache (the PowerShell version is part of the key, so from the first 2012
    # host's parse) and the host refuses -Generation, word for word as with nothing cached
    assert parser.SHAPES.hits == hits + 1
    for result in (first_2012, warm):
        assert result.exit_code == 1
        assert "A parameter cannot be found that matches parameter name 'Generation'." in result.stderr
    assert warm == _cold_preflight(_facts("6.2.9200"), script)


@pytest.mark.usefixtures("cold_caches")
def test_a_cached_shape_is_refused_on_a_host_without_the_hyper_v_role() -> None:
    assert _preflight(_facts(), _create("lab-01", "a")).ok
    script = _create("lab-07", "b")
    warm = _preflight(_facts(hyperv=False), script)
    assert parser.SHAPES.hits == 1
    assert warm.exit_code == 1
    assert "The term 'Get-VM' is not recognized" in warm.stderr
    assert warm == _cold_preflight(_facts(hyperv=False), script)


def _firmware(name: str) -> str:
    """Set-VMFirmware came with 2012 R2 (docset/winserver2012r2-ps/hyper-v/Set-VMFirmware.md; the 2012
    docset has no page for it): a 2012 host does not have the cmdlet at all."""
    return (
        "$ErrorActionPreference = 'Stop'\n"
        f"$vm = Get-VM -Name '{name}'\n"
        "Set-VMFirmware -VM $vm -EnableSecureBoot Off -Confirm:$false\n"
        "Write-Output ('firmware set: ' + $vm.Name)\n"
    )


def _gen2(name: str) -> tuple[dict[str, Any], ...]:
    return ({"id": "5f1c2d3e-0000-4000-8000-000000000002", "name": name, "state": "Off", "generation": 2,
             "cpus": 2, "memory_startup": 4 * GIB, "notes": ""},)


@pytest.mark.usefixtures("cold_caches")
def test_a_compiled_tree_still_refuses_a_cmdlet_the_next_host_lacks() -> None:
    # Given a 2012 R2 host that ran a script calling Set-VMFirmware: its tree is compiled (the closures are
    # kept on the nodes, language/compiler.py) and the call resolved to that host's cmdlet and signature
    script = _firmware("lab-01")
    first = _preflight(_facts(vms=_gen2("lab-01")), script)
    assert first.ok, first.stderr
    assert first.stdout == "firmware set: lab-01\r\n"
    tree = parser.parse(script, "4.0")
    assert tree.k == "block" and all(stmt.fs is not None for stmt in tree.a)  # its statements, compiled
    # When the very same text runs on a 2012 R2 host without the Hyper-V role (the same compiled tree), on
    # a 2012 host, and, for a script of the same shape, on another 2012 host
    no_role = _preflight(_facts(hyperv=False, vms=_gen2("lab-01")), script)
    assert parser.parse(script, "4.0") is tree
    on_2012 = _preflight(_facts("6.2.9200", vms=_gen2("lab-01")), script)
    other = _firmware("lab-02")
    next_2012 = _preflight(_facts("6.2.9200", vms=_gen2("lab-02")), other)
    assert parser.SHAPES.hits == 1  # the second 2012 host's tree came from the first one's
    # Then each host refuses what it lacks, word for word as with nothing cached or compiled
    assert no_role.exit_code == 1 and "The term 'Get-VM' is not recognized" in no_role.stderr
    for result in (on_2012, next_2012):
        assert result.exit_code == 1
        assert "The term 'Set-VMFirmware' is not recognized" in result.stderr
        assert "At line:3 char:1" in result.stderr
    assert no_role == _cold_preflight(_facts(hyperv=False, vms=_gen2("lab-01")), script)
    assert on_2012 == _cold_preflight(_facts("6.2.9200", vms=_gen2("lab-01")), script)
    assert next_2012 == _cold_preflight(_facts("6.2.9200", vms=_gen2("lab-02")), other)
    # And the 2012 R2 host with the role still runs it, after the refusals
    assert _preflight(_facts(vms=_gen2("lab-01")), script) == first


@pytest.mark.usefixtures("cold_caches")
def test_a_copy_of_a_shape_runs_its_originals_compiled_functions() -> None:
    # Given the tree of one host's script, compiled as it was parsed
    original = parser.parse(_create("lab-01", "a"), "4.0")
    # When another host's script of that shape is parsed
    script = _create("lab-02", "b")
    copy = parser.parse(script, "4.0")
    # Then the statement that holds the changed name is a new node with the original's function (nothing
    # compiled for this host), its string is this host's, and the copy runs as a cold parse of its text does
    assert parser.SHAPES.hits == 1
    assigned, template = copy.a[2], original.a[2]
    assert assigned is not template and assigned.fs is template.fs
    assert (assigned.c.a, template.c.a) == ("lab-02", "lab-01")
    warm = _preflight(_facts(), script)
    assert warm.ok and json.loads(warm.stdout) == {"name": "lab-02", "notes": "b"}
    assert warm == _cold_preflight(_facts(), script)


@pytest.mark.usefixtures("cold_caches")
def test_a_cached_shape_meets_each_host_in_its_own_state() -> None:
    # Host A is empty; host B lacks the switch; host C already runs the VM with other notes.
    assert _preflight(_facts(), _create("lab-01", "a")).ok
    no_switch = _facts(switches=("Staff LAN",))
    existing = _facts(vms=({"id": "5f1c2d3e-0000-4000-8000-000000000001", "name": "lab-03", "state": "Running",
                            "generation": 2, "cpus": 2, "memory_startup": 4 * GIB, "notes": "kept"},))
    script_b, script_c = _create("lab-02", "b"), _create("lab-03", "c")
    warm_b = _preflight(no_switch, script_b)
    warm_c = _preflight(existing, script_c)
    assert parser.SHAPES.hits == 2
    assert warm_b.exit_code == 1 and "Classroom LAN" in warm_b.stderr
    assert warm_c.ok and '"notes":"kept"' in warm_c.stdout  # the VM is there: nothing created, notes kept
    assert warm_b == _cold_preflight(no_switch, script_b)
    assert warm_c == _cold_preflight(existing, script_c)


@pytest.mark.usefixtures("cold_caches")
def test_each_host_sees_its_own_names() -> None:
    for index in range(1, 4):
        name = f"teacher's room {index}"
        result = _preflight(_facts(), _create(name, f"row {index}"))
        assert result.ok, result.stderr
        assert json.loads(result.stdout) == {"name": name, "notes": f"row {index}"}
    assert parser.SHAPES.hits == 2 and parser.SHAPES.misses == 1


@pytest.mark.usefixtures("cold_caches")
def test_a_script_refused_at_parse_time_is_refused_again_for_every_host() -> None:
    # `::new()` needs Windows PowerShell 5.0 (about_Classes); 2012 R2 ships 4.0. A refused parse keeps nothing.
    script = "$b = [System.Text.StringBuilder]::new('{}')\n"
    first = _preflight(_facts(), script.format("a"))
    second = _preflight(_facts(), script.format("b"))
    assert parser.SHAPES.hits == 0
    for result in (first, second):
        assert result.exit_code == 1 and "needs Windows PowerShell 5.0" in result.stderr
    assert second == _cold_preflight(_facts(), script.format("b"))


# -- the tree itself: a shared tree is the tree a full parse gives ------------------------------------------

_TEMPLATE = (
    "$ErrorActionPreference = 'Stop'\n"
    "# the host's own check: an apostrophe in a comment\n"
    "function Find-It {{\n    param($Name = {0})\n    Get-VM | Where-Object -FilterScript {{ $_.Name -eq $Name }}\n}}\n"
    "$a = {1}\n"
    "$h = @{{ name = {2}; list = @({3}, {4}) }}\n"
    "$block = {{ Write-Output {5}; \"inside $('x') here\"; [string]{6} }}\n"
    "$text = \"a 'quoted' word\"\n"
    "$here = @'\nit's not 'a' literal\n'@\n"
    "if ($a -eq {7}) {{ Write-Output ($a + {8}) }} else {{ throw {9} }}\n"
    "Set-VM -Name {1} -Notes {2} -Confirm:$false\n"
)

# What an inventory value may hold, as the renderer quotes it: any character, a quote doubled.
_PIECES = [*"ab Z0$#{}()`\";|&@-,.\\/\t\n", "''", "é", "ü", "\u00a0"]
_content = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)


def _literal(text: str) -> str:
    return "'" + text + "'"


def _dump(node: Any, out: list[Any]) -> list[Any]:
    if isinstance(node, Node):
        out.append(("node", node.k, node.line))
        for field in (node.a, node.b, node.c, node.d):
            _dump(field, out)
    elif isinstance(node, (list, tuple)):
        out.append((type(node).__name__, len(node)))
        for item in node:
            _dump(item, out)
    else:
        out.append(("value", type(node).__name__, node))
    return out


@settings(max_examples=80, deadline=None)
@given(first=st.lists(_content, min_size=10, max_size=10), second=st.lists(_content, min_size=10, max_size=10),
       kept=st.lists(st.booleans(), min_size=10, max_size=10))
def test_a_tree_shared_by_shape_is_the_tree_of_a_full_parse(first: list[str], second: list[str],
                                                             kept: list[bool]) -> None:
    # The second script's strings keep the first one's line breaks (a different count is another shape);
    # some keep the first one's very text, as most strings of a fleet's scripts do (only the paths to the
    # others are copied: shapes._instantiate).
    second = [text.replace("\n", "") + "\n" * ref.count("\n") for text, ref in zip(second, first, strict=True)]
    second = [ref if keep else text for text, ref, keep in zip(second, first, kept, strict=True)]
    _cold()
    try:
        one = _TEMPLATE.format(*map(_literal, first))
        two = _TEMPLATE.format(*map(_literal, second))
        parser.parse(one, "4.0")
        shared = parser.parse(two, "4.0")
        assert one == two or parser.SHAPES.hits == 1  # the same text again is the text cache's
        full = parser.parse_in_full(two, "4.0").tree
        assert _dump(shared, []) == _dump(full, [])
    finally:
        _cold()


def test_hosts_that_start_together_parse_their_shared_shape_once() -> None:
    # A dry run's first `forks` hosts reach the simulator at the same moment, each with a script of the same
    # shape: one converts it in full, the others wait for that template and get copies of their own text.
    from orchestrator.simulator.language.shapes import ShapeCache

    cache = ShapeCache()
    names = [f"lab-{i:02d}" for i in range(6)]
    scripts = [_create(name, f"seat {name}") for name in names]
    calls: list[str] = []
    first_underway = threading.Event()

    def slow_full(source: str, version: str) -> Any:
        calls.append(source)
        first_underway.set()
        time.sleep(0.3)  # the others arrive while this parse is under way
        return parser.parse_in_full(source, version)

    trees: dict[int, Node] = {}

    def preflight(index: int) -> None:
        if index:
            first_underway.wait(5)
        trees[index] = cache.parse_copy(scripts[index], "4.0", slow_full)[0]

    threads = [threading.Thread(target=preflight, args=(i,)) for i in range(len(scripts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert calls == [scripts[0]] and (cache.misses, cache.hits) == (1, len(scripts) - 1)
    for index, script in enumerate(scripts):
        assert _dump(trees[index], []) == _dump(parser.parse_in_full(script, "4.0").tree, [])


def test_a_waiting_host_whose_fixed_text_differs_parses_its_own_script() -> None:
    # The template of the first parse serves only scripts that carry its fixed strings; another script of the
    # same shape (here other texts in an attribute's arguments, which are no string nodes) still gets a full
    # parse of its own.
    from orchestrator.simulator.language.shapes import ShapeCache

    cache = ShapeCache()
    one = "$a = 'x'\nfunction f { param([ValidateSet('a','b')]$p) $p }\nf 'a'\n"
    two = "$a = 'y'\nfunction f { param([ValidateSet('c','d')]$p) $p }\nf 'c'\n"
    calls: list[str] = []
    first_underway = threading.Event()

    def slow_full(source: str, version: str) -> Any:
        calls.append(source)
        first_underway.set()
        time.sleep(0.2)
        return parser.parse_in_full(source, version)

    trees: dict[str, Node] = {}

    def later() -> None:
        first_underway.wait(5)
        trees[two] = cache.parse_copy(two, "4.0", slow_full)[0]

    thread = threading.Thread(target=later)
    thread.start()
    trees[one] = cache.parse_copy(one, "4.0", slow_full)[0]
    thread.join(10)

    assert sorted(calls) == sorted([one, two]) and cache.misses == 2
    assert _dump(trees[two], []) == _dump(parser.parse_in_full(two, "4.0").tree, [])


# The runs as a scan for the tokens alone finds them (the pattern before the one-step skip): at each of the
# characters that start a token, the first token that matches there, else that character is passed over.
_TOKENS_ONLY = re.compile(
    "(?=['<#@\"])(?:"
    "(?P<s>'[^']*(?:''[^']*)*')"
    r"|<#.*?#>|#[^\n]*"
    "|@'[ \t]*\r?\n.*?\n'@" '|@"[ \t]*\r?\n.*?\n"@'
    '|"(?:[^"`]|`.|"")*")',
    re.DOTALL,
)


@settings(max_examples=2000)
@given(st.text(alphabet=st.sampled_from("'\"<#@`\n\r\t ab>$"), max_size=40))
def test_the_scan_finds_the_string_runs_a_token_scan_finds(text: str) -> None:
    from orchestrator.simulator.language.shapes import _STRING

    expected = [m.span() for m in _TOKENS_ONLY.finditer(text) if m.lastgroup == "s"]
    assert [m.span("s") for m in _STRING.finditer(text) if m.lastgroup == "s"] == expected
