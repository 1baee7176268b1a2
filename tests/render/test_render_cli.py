"""`orchestrate render`: files per host and operation, UTF-8 with BOM, same bytes every time, exit 2 on
anything refused, no secret in any file."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from render_support import host_with, parse, syntax_errors

import orchestrator.inventory
from orchestrator.cli import main
from orchestrator.model import (
    CheckpointPolicy,
    DiskSpec,
    Finding,
    Inventory,
    Location,
    Schedule,
    VMSpec,
)

VM = VMSpec(
    name="lab-01",
    cpus=4,
    memory=8 * 2**30,
    disk=DiskSpec("parent", source="D:\\images\\mps.vhdx"),
    switch="LAN",
    path="C:\\VMs",
    checkpoints=CheckpointPolicy(baseline="clean"),
)


def _fake_loader(monkeypatch: pytest.MonkeyPatch, hosts: dict, findings: tuple[Finding, ...] = ()) -> None:
    """Stand in for the inventory loader with a hand-made inventory (the loader has its own tests)."""

    def load_inventory(path: str, **_: object) -> Inventory:
        return Inventory(
            path=path, hosts=hosts, groups={}, hostvars={h: {} for h in hosts}, findings=findings
        )

    monkeypatch.setattr(orchestrator.inventory, "load_inventory", load_inventory, raising=False)


def _run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    inventory = tmp_path / "inv.yaml"
    inventory.touch()
    result = CliRunner().invoke(main, ["render", str(inventory), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_writes_one_bom_file_per_host_and_operation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host = host_with((VM,))
    _fake_loader(monkeypatch, {"hv01": host, "hv02": host_with(())})
    out = tmp_path / "out" / "nested"
    code, stdout, _ = _run(tmp_path, "--out", str(out))
    assert code == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.ps1")) == [
        "hv01/apply.ps1",
        "hv01/facts.ps1",
        "hv02/apply.ps1",
        "hv02/facts.ps1",
    ]
    raw = (out / "hv01" / "apply.ps1").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    text = raw[len(codecs.BOM_UTF8) :].decode("utf-8")
    assert text.startswith("$ErrorActionPreference = 'Stop'\n")
    assert "New-VM -Name $vmName" in text and "Checkpoint-VM" in text and "Start-VM" in text
    assert "hv01: wrote" in stdout and "(3 actions)" in stdout
    for path in out.rglob("*.ps1"):
        assert b"S3cr3t-pw!" not in path.read_bytes()


def test_same_inventory_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_loader(monkeypatch, {"hv01": host_with((VM,))})
    assert _run(tmp_path, "--out", str(tmp_path / "a"))[0] == 0
    assert _run(tmp_path, "--out", str(tmp_path / "b"))[0] == 0
    for name in ("facts.ps1", "apply.ps1"):
        assert (tmp_path / "a/hv01" / name).read_bytes() == (tmp_path / "b/hv01" / name).read_bytes()


def test_limit_and_json_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_loader(monkeypatch, {"hv01": host_with((VM,)), "hv02": host_with(())})
    code, stdout, _ = _run(tmp_path, "--out", str(tmp_path / "o"), "--limit", "hv02", "--output", "json")
    assert code == 0
    events = [json.loads(line) for line in stdout.splitlines()]
    assert events[-1] == {"event": "recap", "command": "render", "exit_code": 0, "hosts": 1, "scripts": 2,
                          "out": str(tmp_path / "o")}
    assert {(e["host"], e["operation"]) for e in events[:-1]} == {("hv02", "facts"), ("hv02", "apply")}
    assert not (tmp_path / "o" / "hv01").exists()


def test_an_inventory_error_exits_2_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = Finding("error", "cpus must be at least 1", location=Location("inv.yaml", 7, 3))
    _fake_loader(monkeypatch, {"hv01": host_with((VM,))}, (bad,))
    code, _, stderr = _run(tmp_path, "--out", str(tmp_path / "o"))
    assert code == 2 and "inv.yaml:7:3: error" in stderr
    assert not (tmp_path / "o").exists()


def test_a_warning_is_printed_and_rendering_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warning = Finding("warning", "only 2 GB for 10 seats", location=Location("inv.yaml", 9, 5))
    _fake_loader(monkeypatch, {"hv01": host_with((VM,))}, (warning,))
    code, _, stderr = _run(tmp_path, "--out", str(tmp_path / "o"))
    assert code == 0 and "warning" in stderr
    assert (tmp_path / "o/hv01/apply.ps1").exists()


def test_a_value_that_cannot_be_rendered_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nul = VMSpec(name="lab\x0001", cpus=1, memory=2**30, disk=None)
    _fake_loader(monkeypatch, {"hv01": host_with((VM,)), "hv02": host_with((nul,))})
    code, _, stderr = _run(tmp_path, "--out", str(tmp_path / "o"))
    assert code == 2 and "U+0000" in stderr and "hv02" in stderr
    assert not (tmp_path / "o").exists()


def test_a_broken_override_exits_2_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site" / "actions"
    site.mkdir(parents=True)
    (site / "start_vm.ps1.j2").write_text("{% if %}\n", encoding="utf-8")
    _fake_loader(monkeypatch, {"hv01": host_with((VM,))})
    code, _, stderr = _run(tmp_path, "--out", str(tmp_path / "o"), "--templates", str(tmp_path / "site"))
    assert code == 2 and "start_vm.ps1.j2:1" in stderr


def test_an_override_saved_in_another_encoding_is_named_with_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admin saved a site template in Windows-1252 (a 'é' as byte 0xe9): the error names that file, the
    byte and the fix, not a bare UnicodeDecodeError at the line that includes it."""
    site = tmp_path / "site" / "actions"
    site.mkdir(parents=True)
    (site / "start_vm.ps1.j2").write_bytes("# caf\u00e9\nStart-VM -VM $vm\n".encode("cp1252"))
    _fake_loader(monkeypatch, {"hv01": host_with((VM,))})
    code, _, stderr = _run(tmp_path, "--out", str(tmp_path / "o"), "--templates", str(tmp_path / "site"))
    assert code == 2
    assert f"{site / 'start_vm.ps1.j2'}: not UTF-8 text (byte 0xe9 at offset 5); save the template as UTF-8" in stderr
    assert "UnicodeDecodeError" not in stderr and not (tmp_path / "o").exists()


def test_a_site_override_of_the_rollback_script_reaches_every_task_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--templates must reach the scripts the scheduled tasks run, which are rendered while planning."""
    from orchestrator.resources import templates_dir

    site = tmp_path / "site" / "operations"
    site.mkdir(parents=True)
    packaged = (templates_dir() / "operations" / "rollback.ps1.j2").read_text(encoding="utf-8")
    (site / "rollback.ps1.j2").write_text(
        packaged.replace("{% block body %}\n", "{% block body %}\n# site marker: reviewed by the school\n", 1),
        encoding="utf-8",
    )
    nightly = Schedule(name="nightly", checkpoint="clean", at="02:30")
    _fake_loader(monkeypatch, {"hv01": host_with((VM,), (nightly,))})
    out = tmp_path / "o"
    code, _, stderr = _run(tmp_path, "--out", str(out), "--templates", str(tmp_path / "site"))
    assert code == 0, stderr
    tasks = sorted(out.rglob("task-*.ps1"))
    assert tasks and all("# site marker: reviewed by the school" in t.read_text(encoding="utf-8-sig") for t in tasks)


def test_with_the_real_inventory_loader(tmp_path: Path) -> None:
    inventory = tmp_path / "school.yaml"
    inventory.write_text(
        "all:\n"
        "  hosts:\n"
        "    hv01:\n"
        "      ansible_connection: simulator\n"
        "      ansible_user: admin\n"
        "      ansible_password: S3cr3t-pw!\n"
        "      multipoint_vms:\n"
        "        - name: \"lab-'01'\"\n"
        "          cpus: 4\n"
        "          memory: 8GB\n"
        "          switch: LAN\n"
        "          disk: {parent: 'D:\\images\\mps-premium.vhdx'}\n"
        "          checkpoints: {baseline: clean}\n",
        encoding="utf-8",
    )
    inventory.chmod(0o600)  # the loader refuses a readable file holding a literal password
    result = CliRunner().invoke(main, ["render", str(inventory), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "o/hv01/apply.ps1").read_bytes().decode("utf-8-sig")
    assert "$vmName = 'lab-''01'''" in text
    for path in (tmp_path / "o").rglob("*.ps1"):
        assert b"S3cr3t-pw!" not in path.read_bytes()


def test_the_demo_inventory_renders_its_task_scripts_in_clear(tmp_path: Path) -> None:
    """The shipped demo: every host gets facts and apply; a schedule's task script is written out to read."""
    demo = Path(__file__).resolve().parents[2] / "inventories" / "demo.yaml"
    result = CliRunner().invoke(main, ["render", str(demo), "--out", str(tmp_path / "o"), "-o", "json"])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if '"rendered"' in line]
    tasks = [e for e in events if e["operation"] == "task"]
    assert tasks, "the demo schedules a nightly reset"
    scripts = [e for e in events if e["operation"] in ("facts", "apply", "task")]
    assert {e["operation"] for e in events} - {"facts", "apply", "task"} == {"answer file", "setup script"}
    for event in scripts:
        text = Path(event["path"]).read_bytes().decode("utf-8-sig")
        assert not syntax_errors(parse(text)), event["path"]
        assert text.startswith("$ErrorActionPreference = 'Stop'\n")
    apply_text = (Path(tasks[0]["path"]).parent / "apply.ps1").read_text(encoding="utf-8-sig")
    assert "Register-ScheduledTask" in apply_text


def test_each_new_guest_gets_its_answer_file_and_setup_script_written_out_masked(tmp_path: Path) -> None:
    """An admin reviews what a new VM's guest will find in its disk before any host sees it: the answer file
    with every password as ******** (the real one never leaves the WinRM channel), and SetupComplete.cmd as
    plain ASCII with Windows line ends, as prepare_guest writes them."""
    admin_password, join_password = "Adm1n-Secret!", "J0in-Secret!"
    inventory = tmp_path / "school.yaml"
    inventory.write_text(
        "all:\n  hosts:\n    hv01:\n      ansible_connection: simulator\n      multipoint_vms:\n"
        + "".join(
            f"        - name: {name}\n          disk: {{parent: 'D:\\images\\premium.vhdx'}}\n"
            "          guest:\n"
            "            admin_password: \"{{ lookup('env', 'MP_ADMIN') }}\"\n"
            "            domain: {name: school.example, user: joiner,"
            " password: \"{{ lookup('env', 'MP_JOIN') }}\"}\n"
            for name in ("lab-01", "lab-02")
        ),
        encoding="utf-8",
    )
    inventory.chmod(0o600)
    out = tmp_path / "o"
    result = CliRunner().invoke(
        main, ["render", str(inventory), "--out", str(out)], env={"MP_ADMIN": admin_password, "MP_JOIN": join_password}
    )
    assert result.exit_code == 0, result.output
    answer = out / "hv01" / "lab-01.unattend.xml"
    setup = out / "hv01" / "lab-01.SetupComplete.cmd"
    assert f"wrote {answer}" in result.stdout and f"wrote {setup}" in result.stdout
    text = answer.read_bytes().decode("utf-8-sig")
    assert answer.read_bytes().startswith(codecs.BOM_UTF8)
    assert "<ComputerName>LAB-01</ComputerName>" in text and "********" in text
    setup_bytes = setup.read_bytes()
    assert not setup_bytes.startswith(codecs.BOM_UTF8) and setup_bytes.isascii() and b"\r\n" in setup_bytes
    assert sorted(p.name for p in (out / "hv01").iterdir()) == [
        "apply.ps1", "facts.ps1", "lab-01.SetupComplete.cmd", "lab-01.unattend.xml",
        "lab-02.SetupComplete.cmd", "lab-02.unattend.xml",
    ]
    for path in out.rglob("*"):
        if path.is_file():
            assert admin_password.encode() not in path.read_bytes()
            assert join_password.encode() not in path.read_bytes()


def _staging_folders(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.is_dir() for p in folder.iterdir() if p.name.startswith(".orchestrate-render-")]


def test_a_large_render_leaves_no_staging_folder_and_a_refusal_leaves_the_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each host's files are staged as it renders and moved into place at the end (runner/render.py): the
    admin's folder from yesterday keeps its files when today's render refuses a host, and no staging
    folder is left either way."""
    out = tmp_path / "review"
    _fake_loader(monkeypatch, {f"hv{i:02d}": host_with((VM,)) for i in range(1, 6)})
    assert _run(tmp_path, "--out", str(out))[0] == 0
    yesterday = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert len(yesterday) == 10 and not _staging_folders(tmp_path, out)
    (tmp_path / "made-by-hand").mkdir()  # a new output folder is the staging folder renamed: the usual mode
    assert out.stat().st_mode == (tmp_path / "made-by-hand").stat().st_mode
    (out / "notes.txt").write_text("the admin's own file", encoding="utf-8")

    nul = VMSpec(name="lab\x0001", cpus=1, memory=2**30, disk=None)
    _fake_loader(monkeypatch, {"hv01": host_with(()), "hv02": host_with((VM,)), "hv03": host_with((nul,))})
    code, stdout, stderr = _run(tmp_path, "--out", str(out))
    assert code == 2 and "hv03" in stderr and "nothing was written" in stderr and "wrote" not in stdout
    assert {p: p.read_bytes() for p in out.rglob("*.ps1")} == yesterday  # hv01's empty plan did not replace it
    assert (out / "notes.txt").read_text(encoding="utf-8") == "the admin's own file"
    assert not _staging_folders(tmp_path, out)


def test_an_interrupted_render_writes_nothing_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the third host renders: the first two hosts' staged files go with the staging folder."""
    from orchestrator.render import Renderer
    from orchestrator.runner.render import render_and_write

    stock = Renderer.render_apply
    calls = []

    def interrupted(self: Renderer, *args: object, **kwargs: object) -> str:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return stock(self, *args, **kwargs)

    monkeypatch.setattr(Renderer, "render_apply", interrupted)
    hosts = {f"hv{i:02d}": host_with((VM,)) for i in range(1, 5)}
    inventory = Inventory(path="inv.yaml", hosts=hosts, groups={}, hostvars={h: {} for h in hosts}, findings=())
    out = tmp_path / "o"
    with pytest.raises(KeyboardInterrupt):
        render_and_write(inventory, list(hosts), out)
    assert not out.exists() and not _staging_folders(tmp_path)


def _yesterdays_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[Path, bytes]]:
    """Three hosts rendered into review/ yesterday; today one more host, and every VM has 2 CPUs more."""
    out = tmp_path / "review"
    _fake_loader(monkeypatch, {f"hv{i:02d}": host_with((VM,)) for i in range(1, 4)})
    assert _run(tmp_path, "--out", str(out))[0] == 0
    yesterday = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bigger = VMSpec(name="lab-01", cpus=6, memory=VM.memory, disk=VM.disk, switch="LAN", path="C:\\VMs",
                    checkpoints=VM.checkpoints)
    _fake_loader(monkeypatch, {name: host_with((bigger,)) for name in ("hv00", "hv01", "hv02", "hv03")})
    return out, yesterday


def _as_it_was(out: Path, yesterday: dict[Path, bytes]) -> bool:
    return {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == yesterday


def test_a_folder_where_a_script_goes_fails_the_render_and_puts_back_every_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone made a folder named apply.ps1 in hv02's folder. Today's render has already moved hv00's new
    folder and hv01's new files into place when it reaches it: it stops, puts all of that back, names the
    folder, and leaves the folder (and what is in it) alone."""
    out, yesterday = _yesterdays_render(tmp_path, monkeypatch)
    (out / "hv02" / "apply.ps1").unlink()
    del yesterday[out / "hv02" / "apply.ps1"]
    (out / "hv02" / "apply.ps1").mkdir()
    (out / "hv02" / "apply.ps1" / "keep.txt").write_text("mine", encoding="utf-8")
    yesterday[out / "hv02" / "apply.ps1" / "keep.txt"] = b"mine"

    code, stdout, stderr = _run(tmp_path, "--out", str(out))
    assert code == 2 and "wrote" not in stdout
    assert f"cannot write {out / 'hv02' / 'apply.ps1'}: Is a directory" in stderr
    assert "nothing was written" in stderr
    assert _as_it_was(out, yesterday) and not (out / "hv00").exists()
    assert not _staging_folders(tmp_path, out)


def test_a_file_where_a_host_folder_goes_is_named_and_nothing_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, yesterday = _yesterdays_render(tmp_path, monkeypatch)
    for path in [p for p in yesterday if p.parent == out / "hv03"]:
        path.unlink()
        del yesterday[path]
    (out / "hv03").rmdir()
    (out / "hv03").write_text("notes on hv03", encoding="utf-8")
    yesterday[out / "hv03"] = b"notes on hv03"

    code, _, stderr = _run(tmp_path, "--out", str(out))
    assert code == 2 and f"cannot write {out / 'hv03'}: Not a directory" in stderr
    assert _as_it_was(out, yesterday) and not (out / "hv00").exists()
    assert not _staging_folders(tmp_path, out)


def test_a_move_refused_midway_is_undone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file system refuses the move of hv02's apply.ps1 (a permission, a read-only mount): the hosts
    moved before it get yesterday's files back, byte for byte, and the error names the file."""
    import orchestrator.runner.render as render_module

    out, yesterday = _yesterdays_render(tmp_path, monkeypatch)
    stock = render_module.os.rename
    refused: list[Path] = []

    def refusing(source: object, target: object) -> None:
        if Path(str(target)) == out / "hv02" / "apply.ps1" and not refused:  # today's copy; yesterday's returns
            refused.append(Path(str(target)))
            raise PermissionError(13, "Permission denied", str(source), None, str(target))
        stock(source, target)

    monkeypatch.setattr(render_module.os, "rename", refusing)
    code, _, stderr = _run(tmp_path, "--out", str(out))
    assert code == 2 and f"cannot write {out / 'hv02' / 'apply.ps1'}: Permission denied" in stderr
    assert "could not be put back" not in stderr
    assert _as_it_was(out, yesterday) and not (out / "hv00").exists()
    assert not _staging_folders(tmp_path, out)


def test_what_cannot_be_put_back_is_kept_and_the_error_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worse: putting hv01's facts.ps1 back fails too. Yesterday's copy is not deleted with the staging
    folders: it stays in the folder the error names, for the admin to move back by hand."""
    import orchestrator.runner.render as render_module

    out, yesterday = _yesterdays_render(tmp_path, monkeypatch)
    stock = render_module.os.rename
    blocked = {out / "hv02" / "apply.ps1", out / "hv01" / "facts.ps1"}
    moves: list[Path] = []

    def refusing(source: object, target: object) -> None:
        target_path = Path(str(target))
        moves.append(target_path)
        # every move to hv02's apply.ps1 (today's copy, then yesterday's going back), and hv01's facts.ps1
        # going back (its second arrival there)
        if target_path in blocked and (target_path.name == "apply.ps1" or moves.count(target_path) > 1):
            raise PermissionError(13, "Permission denied", str(source), None, str(target))
        stock(source, target)

    monkeypatch.setattr(render_module.os, "rename", refusing)
    code, _, stderr = _run(tmp_path, "--out", str(out))
    assert code == 2 and "some files could not be put back" in stderr
    kept = [p for p in _staging_folders(out) if (p / "hv01" / "facts.ps1").is_file()]
    assert len(kept) == 1 and f"kept in {kept[0]}" in stderr
    assert (kept[0] / "hv01" / "facts.ps1").read_bytes() == yesterday[out / "hv01" / "facts.ps1"]
    assert (kept[0] / "hv02" / "apply.ps1").read_bytes() == yesterday[out / "hv02" / "apply.ps1"]
    assert (out / "hv01" / "apply.ps1").read_bytes() == yesterday[out / "hv01" / "apply.ps1"]
    assert not (out / "hv00").exists()


def test_an_output_path_through_a_file_is_refused_without_a_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--out notes.txt/review`: a file stands where a folder of the path should be. Exit 2 naming it, no
    traceback, and no staging folder made anywhere."""
    (tmp_path / "notes.txt").write_text("the admin's notes", encoding="utf-8")
    _fake_loader(monkeypatch, {"hv01": host_with((VM,))})
    code, stdout, stderr = _run(tmp_path, "--out", str(tmp_path / "notes.txt" / "review"))
    assert code == 2 and "wrote" not in stdout
    assert f"cannot write {tmp_path / 'notes.txt'}: Not a directory" in stderr and "Traceback" not in stderr
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "the admin's notes"
    assert not _staging_folders(tmp_path)
