"""The safety check runs once per script shape: hosts whose scripts differ only in literal values share one
check, anything that changes the code (control flow, version, the host's cmdlets, the template) gets its own,
and a script whose literals do not stand alone in its parse tree is always checked."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from render_support import HOSTILE_PAYLOADS, Hostile, host_with, iter_scripts_hostile

from orchestrator import actions as A
from orchestrator import pwsh, render
from orchestrator.model import DiskSpec, DynamicMemory, VMSpec
from orchestrator.render import Renderer, RenderError


def _vm(name: str, memory: int = 4 * 2**30, switch: str = "LAN") -> VMSpec:
    return VMSpec(
        name=name,
        cpus=4,
        memory=memory,
        disk=DiskSpec("parent", source=f"D:\\images\\{name}.vhdx"),
        switch=switch,
        path=f"C:\\VMs\\{name}",
    )


def _counting(renderer: Renderer) -> list[str]:
    """Wrap the renderer's full check; the returned list grows by the script on every full check."""
    checked: list[str] = []
    full_check = renderer._check

    def counted(script: str, *args: Any, **kwargs: Any) -> Any:
        checked.append(script)
        return full_check(script, *args, **kwargs)

    renderer._check = counted  # type: ignore[method-assign]
    return checked


def _plan(vm: VMSpec) -> list[A.Action]:
    return [A.CreateVM(vm), A.StartVM(vm.name), A.TakeCheckpoint(vm.name, "baseline " + vm.name)]


def _write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# -- (1) values only: one check ---------------------------------------------------------------------------


def test_hosts_that_differ_only_in_values_share_one_check() -> None:
    renderer = Renderer()
    checked = _counting(renderer)
    first_vm = _vm("lab-01")
    other_vm = _vm("class-7 it's", memory=8 * 2**30, switch="Other LAN")
    first = renderer.render_apply(host_with((first_vm,)), _plan(first_vm), "6.3")
    assert len(checked) == 1 and checked[0] == first  # the full check judged the real script
    other = renderer.render_apply(host_with((other_vm,)), _plan(other_vm), "6.3")
    assert len(checked) == 1
    # Same text as a renderer that checks everything (nothing of the skeleton leaks into the script).
    assert other == Renderer().render_apply(host_with((other_vm,)), _plan(other_vm), "6.3")
    assert "'class-7 it''s'" in other and "\x02" not in other and "\x1f" not in other
    # The facts script has its own template: one more check, then none.
    renderer.render_facts(host_with((first_vm,)))
    renderer.render_facts(host_with((other_vm,)))
    assert len(checked) == 2


# -- (2) a different code path: a new check ----------------------------------------------------------------


def test_a_different_code_path_version_or_cmdlet_table_is_checked_again() -> None:
    renderer = Renderer()
    checked = _counting(renderer)
    static = A.SetMemory("lab-01", 4 * 2**30)
    dynamic = A.SetMemory("lab-01", 4 * 2**30, dynamic=DynamicMemory(2**30, 8 * 2**30))
    host = host_with((_vm("lab-01"),))
    renderer.render_apply(host, [static], "6.3")
    renderer.render_apply(host, [A.SetMemory("lab-02", 2 * 2**30)], "6.3")
    assert len(checked) == 1
    renderer.render_apply(host, [dynamic], "6.3")  # dynamic memory on: another branch of the template
    assert len(checked) == 2
    renderer.render_apply(host, [static], "10.0")  # another Windows version
    assert len(checked) == 3
    cmdlets = {"Set-VMMemory": ["VM", "StartupBytes", "DynamicMemoryEnabled", "Confirm"]}
    renderer.render_apply(host, [static], "6.3", cmdlets)  # the host's own cmdlet table
    assert len(checked) == 4
    renderer.render_apply(
        host, [static], "6.3", {"set-vmmemory": ("vm", "startupbytes", "dynamicmemoryenabled", "confirm")}
    )
    assert len(checked) == 4  # the same table, as Capabilities reads it
    renderer.render_apply(host, [static, A.StartVM("lab-01")], "6.3")  # another action list
    assert len(checked) == 5
    renderer.render_apply(host, [static], "6.3")
    assert len(checked) == 5


def test_a_value_of_another_kind_is_another_shape() -> None:
    """None vs a number vs a string in the same place tokenize differently: each is checked."""
    shapes = [pwsh.literal_shape(v) for v in (None, True, False, 0, 7, -7, 1.5, "x", [1], {"a": 1})]
    assert len(set(shapes)) == len(shapes)
    assert pwsh.literal_shape("it's $(x)") == pwsh.literal_shape("") == "''"
    assert pwsh.literal_shape(4 * 2**30) == pwsh.literal_shape(8 * 2**30) == "1111111111"
    assert pwsh.literal_shape(-25) == "(-11)"
    assert pwsh.literal_shape({"k": [1, "a"]}) == "@{'' = @(1, '')}"
    assert pwsh.literal_shape([[1, 2]]) == "@(,@(1, 1))"


# -- (3) broken overrides are still refused ------------------------------------------------------------------


def test_a_broken_override_is_refused_on_first_use_and_every_time(tmp_path: Path) -> None:
    _write(tmp_path, "actions/stop_vm.ps1.j2", "Stop-VM -Name {{ action.vm_name }} -Force (\n")
    renderer = Renderer(tmp_path)
    host = host_with((_vm("lab-01"),))
    for _ in range(2):  # a refusal is never remembered
        with pytest.raises(RenderError, match="does not parse"):
            renderer.render_apply(host, [A.StopVM("lab-01")], "6.3")


def test_a_parameter_the_version_lacks_is_refused_after_another_version_passed(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "actions/stop_vm.ps1.j2",
        "Export-VM -Name {{ action.vm_name }} -Path 'D:\\e' -CaptureLiveState 'CaptureSavedState'\n",
    )
    renderer = Renderer(tmp_path)
    host = host_with((_vm("lab-01"),))
    assert "-CaptureLiveState" in renderer.render_apply(host, [A.StopVM("lab-01")], "10.0")
    with pytest.raises(RenderError, match="CaptureLiveState"):
        renderer.render_apply(host, [A.StopVM("lab-02")], "6.3")


@pytest.mark.parametrize(
    ("code", "good", "bad"),
    [
        # Adjacent literals merge ('a''b' is one string) or clash ('a'5): never remembered.
        ("$x = {{ a }}{{ b }}", ("a", "b"), ("a", 5)),
        # A literal inside a template's own double-quoted string: its text can end that string.
        ('Write-Output "{{ a }}"', ("a", "b"), ('a"b', "b")),
        # A literal inside a comment: a newline in the value ends the comment.
        ("# {{ a }}\n$y = 1", ("a", "b"), ("a\nStop-VM -NoSuchParameter 1", "b")),
        # A literal glued to a token of the template.
        ("$x = 5{{ b }}", ("a", 1), ("a", "b")),
    ],
)
def test_a_literal_that_does_not_stand_alone_is_checked_every_time(
    tmp_path: Path, code: str, good: tuple[Any, Any], bad: tuple[Any, Any]
) -> None:
    _write(tmp_path, "operations/odd.ps1.j2", code + "\n")
    renderer = Renderer(tmp_path)
    checked = _counting(renderer)
    host = host_with((_vm("lab-01"),))
    renderer.render_operation("operations/odd.ps1.j2", host, "6.3", a=good[0], b=good[1])
    renderer.render_operation("operations/odd.ps1.j2", host, "6.3", a=good[0], b=good[1])
    assert len(checked) == 2
    with pytest.raises(RenderError):
        renderer.render_operation("operations/odd.ps1.j2", host, "6.3", a=bad[0], b=bad[1])


@pytest.mark.parametrize(
    "code",
    [
        'Write-Output "$( {{ a }} )"',  # a whole node, but inside a double-quoted string
        "Write-Output @'\n{{ a }}\n'@",  # inside a here-string
        "$x = {{ a }}.Length",  # a whole node: remembered (the case that must keep working)
    ],
)
def test_only_literals_standing_alone_outside_strings_are_remembered(tmp_path: Path, code: str) -> None:
    _write(tmp_path, "operations/odd.ps1.j2", code + "\n")
    renderer = Renderer(tmp_path)
    checked = _counting(renderer)
    host = host_with((_vm("lab-01"),))
    for value in ("a", "b c", "d"):
        renderer.render_operation("operations/odd.ps1.j2", host, "6.3", a=value)
    assert len(checked) == (1 if code.endswith(".Length") else 3)


def test_a_template_carrying_a_sentinel_character_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "actions/stop_vm.ps1.j2", "Stop-VM -Name {{ action.vm_name }}\n# \x1f\n")
    with pytest.raises(RenderError, match="U\\+001F") as caught:
        Renderer(tmp_path).render_apply(host_with((_vm("lab-01"),)), [A.StopVM("lab-01")], "6.3")
    assert caught.value.line == 2 and caught.value.file and caught.value.file.endswith("stop_vm.ps1.j2")


def test_template_text_turned_into_a_value_reads_as_before(tmp_path: Path) -> None:
    """A set-block is Code; `~` makes it a str again, which is quoted as the text it stands for."""
    _write(
        tmp_path,
        "operations/text.ps1.j2",
        "{% set block %}Get-VM -Name {{ a }}{% endset %}\n$code = {{ block ~ '' }}\n{{ block }}\n$l = {{ [block] }}\n",
    )
    script = Renderer(tmp_path).render_operation("operations/text.ps1.j2", host_with(()), "6.3", a="x")
    assert script == "$code = 'Get-VM -Name ''x'''\nGet-VM -Name 'x'\n$l = @(Get-VM -Name 'x')\n"


# -- (4) hostile values never change a skeleton ---------------------------------------------------------------


def test_hostile_values_never_change_the_skeleton_of_any_template() -> None:
    renderer = Renderer()
    checked = _counting(renderer)
    plain = list(iter_scripts_hostile(renderer, Hostile(("plain",))))
    shapes = len(checked)
    assert 0 < shapes <= len(plain)
    hostile = list(iter_scripts_hostile(renderer, Hostile(HOSTILE_PAYLOADS)))
    # Every literal of every shipped template stands alone, and no payload changed a skeleton.
    assert len(checked) == shapes
    for (label, ours), (_, theirs) in zip(plain, hostile, strict=True):
        assert ours != theirs
        # What the check judges is the same: no syntax problem, the same calls with the same parameters.
        trees = pwsh.parse(ours), pwsh.parse(theirs)
        assert not pwsh.syntax_problems(trees[0]) and not pwsh.syntax_problems(trees[1]), label
        calls = [[(c.name, c.parameters) for c in pwsh.command_calls(tree)] for tree in trees]
        assert calls[0] == calls[1], label


def test_a_literal_can_carry_no_sentinel() -> None:
    for char in render._SENTINELS:
        with pytest.raises(RenderError, match=f"U\\+{ord(char):04X}"):
            Renderer().render_apply(host_with((_vm("a" + char),)), [A.StartVM("a" + char)], "6.3")


# -- (5) threads, and the bound ------------------------------------------------------------------------------


def test_many_threads_share_one_renderer() -> None:
    renderer = Renderer()
    checked = _counting(renderer)
    versions = ("6.2", "6.3", "10.0")
    work = [(f"vm-{i:03d} '{i}'", versions[i % 3]) for i in range(240)]

    def script(r: Renderer, name: str, version: str) -> str:
        vm = _vm(name)
        vm = VMSpec(
            **{
                **{f: getattr(vm, f) for f in ("name", "cpus", "memory", "disk", "switch", "path")},
                "generation": 1 if version == "6.2" else 2,
            }
        )
        return r.render_apply(host_with((vm,)), _plan(vm), version)

    results: dict[int, str] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker(offset: int) -> None:
        start.wait()
        try:
            for index in range(offset, len(work), 8):
                results[index] = script(renderer, *work[index])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    reference = Renderer()
    for index in (0, 1, 2, 100, 239):
        assert results[index] == script(reference, *work[index])
    assert len(results) == len(work)
    # 3 shapes (one per version); a race may check a new shape in several threads at once, never more.
    assert 3 <= len(checked) <= 3 * 8
    assert len(renderer._checked) == 3


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "CHECK_CACHE_SIZE", 2)
    renderer = Renderer()
    checked = _counting(renderer)
    host = host_with((_vm("lab-01"),))
    for version in ("6.2", "6.3", "10.0", "6.2"):
        renderer.render_apply(host, [A.StartVM("lab-01")], version)
    assert len(renderer._checked) == 2
    assert len(checked) == 4  # 6.2 was evicted by 10.0, so checked again


@pytest.mark.parametrize(
    "value", ["", "it's", "\u2019x\u2019", 0, 7, -7, 2**40, True, None, 1.5, ["a", 1], {"k": "v"}, ("a",)]
)
def test_finalize_marks_every_literal_with_its_text_and_shape(value: object) -> None:
    """The fast paths for strings and integers write exactly what the general path writes."""
    expected = "\x02" + pwsh.literal(value) + "\x1f" + pwsh.literal_shape(value) + "\x03"
    assert render._finalize(value) == expected


# -- (5) the literal cache: equal values of other types, lists and tuples, values refused ---------------------


def test_remembered_literals_never_mix_values_that_compare_equal(tmp_path: Path) -> None:
    # 1, True and 1.0 compare equal, as do a list and a tuple of the same texts in Python's eyes only for
    # the texts: each must still be written as its own PowerShell literal, in any order (issue 18's cache).
    _write(tmp_path, "operations/values.ps1.j2", "$v = @({{ a }}, {{ b }}, {{ c }})\n$w = {{ d }}\n$x = {{ e }}\n")
    renderer = Renderer(tmp_path)
    host = host_with((_vm("lab-01"),))
    written = {int: "1", bool: "$true", float: "1.0"}
    for a, b, c in [(1, True, 1.0), (True, 1.0, 1), (1.0, 1, True)]:
        script = renderer.render_operation(
            "operations/values.ps1.j2", host, "6.3", a=a, b=b, c=c, d=["x", "y'z"], e=("x", "y'z")
        )
        assert f"$v = @({written[type(a)]}, {written[type(b)]}, {written[type(c)]})" in script
        assert "$w = @('x', 'y''z')" in script and "$x = @('x', 'y''z')" in script


def test_a_value_that_cannot_be_written_is_refused_every_time(tmp_path: Path) -> None:
    _write(tmp_path, "operations/one.ps1.j2", "$v = {{ a }}\n")
    renderer = Renderer(tmp_path)
    host = host_with((_vm("lab-01"),))
    for _ in range(2):
        with pytest.raises(RenderError, match="U\\+0000"):
            renderer.render_operation("operations/one.ps1.j2", host, "6.3", a="bad\x00text")
        with pytest.raises(RenderError, match="U\\+0000"):
            renderer.render_operation("operations/one.ps1.j2", host, "6.3", a=["ok", "bad\x00text"])


# -- (4) hosts of one run render at once (--forks) -----------------------------------------------------------


def _render_at_once(renderer: Renderer, hosts: int, render_one: Any) -> list[Any]:
    """`hosts` threads render at once; each result is the script or the exception raised."""
    results: list[Any] = [None] * hosts

    def run(index: int) -> None:
        try:
            results[index] = render_one(index)
        except Exception as exc:  # the test looks at what each host got
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(hosts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_hosts_rendering_one_shape_at_once_share_one_check() -> None:
    """Fifty hosts of a `--forks 50` run reach the renderer together: one parses the shape, the others wait
    for its verdict, and every host still gets its own script."""
    renderer = Renderer()
    checked = _counting(renderer)
    inner = renderer._check
    all_started = threading.Event()

    def slow_first_check(script: str, *args: Any, **kwargs: Any) -> Any:
        all_started.wait(timeout=5)  # the other hosts arrive while the first is still checking
        return inner(script, *args, **kwargs)

    renderer._check = slow_first_check  # type: ignore[method-assign]
    vms = [_vm(f"lab-{i:02d}") for i in range(50)]

    def render_one(index: int) -> str:
        if index == len(vms) - 1:
            all_started.set()
        return renderer.render_apply(host_with((vms[index],)), _plan(vms[index]), "6.3")

    scripts = _render_at_once(renderer, len(vms), render_one)
    assert len(checked) == 1
    assert all(isinstance(s, str) and f"'lab-{i:02d}'" in s for i, s in enumerate(scripts))
    assert renderer._checking == {}


def test_a_shape_refused_while_others_wait_is_refused_to_every_one_of_them(tmp_path: Path) -> None:
    _write(tmp_path, "actions/stop_vm.ps1.j2", "Stop-VM -Name {{ action.vm_name }} -Force (\n")
    renderer = Renderer(tmp_path)
    results = _render_at_once(
        renderer, 8, lambda i: renderer.render_apply(host_with((_vm("lab-01"),)), [A.StopVM(f"lab-{i}")], "6.3")
    )
    assert all(isinstance(r, RenderError) and "does not parse" in str(r) for r in results), results
    assert renderer._checking == {}


def test_hosts_reporting_the_same_cmdlets_share_their_capabilities_and_no_other_host_does() -> None:
    """Two hosts whose facts list the same parameters get the same answers from one Capabilities; a host
    whose Export-VM lacks -CaptureLiveState gets its own, and a table of lists (not from facts) still works."""
    with_live = {"Export-VM": frozenset({"Name", "Path", "CaptureLiveState"})}
    same = {"Export-VM": frozenset({"Name", "Path", "CaptureLiveState"})}
    without = {"Export-VM": frozenset({"Name", "Path"})}
    first, first_key = render._capabilities("6.3", with_live)
    second, second_key = render._capabilities("6.3", same)
    assert second is first and second_key == first_key
    other, other_key = render._capabilities("6.3", without)
    assert other is not first and other_key != first_key
    assert first.has("Export-VM", "CaptureLiveState") and not other.has("Export-VM", "CaptureLiveState")
    listed, listed_key = render._capabilities("6.3", {"Export-VM": ["Name", "Path"]})
    assert listed_key == other_key and not listed.has("Export-VM", "CaptureLiveState")
    assert render._capabilities("6.2", same)[0].version != first.version
