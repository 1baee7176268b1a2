"""The admin's story: the guests' passwords reach the guests' disks and nothing else. After a dry run, a render,
an apply with every script shown, and a rollback, no output and no file of the state dir (journal, simulator
state, locks) holds a password in any form it could travel in; and the apply script the journal hashed has
none either. Setup deleted the answer file, so even the simulated disks are clean once the guests are ready."""

from __future__ import annotations

import base64
from pathlib import Path

from apply_support import (
    JOIN_PASSWORD,
    PASSWORD,
    events,
    guest,
    has_answer_file,
    host_failure,
    inventory,
    orchestrate,
    seed,
    simulated,
)


def forms(secret: str, setting: str | None = None) -> list[bytes]:
    """The bytes a secret could be found as: UTF-8, UTF-16LE, JSON-escaped, XML-escaped, base64 of either, and
    (for the Administrator password) the answer file's hidden form, base64 of UTF-16LE(password + setting)."""
    import html
    import json

    texts = {secret, html.escape(secret, quote=True), json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    out: set[bytes] = set()
    for text in texts:
        out |= {text.encode("utf-8"), text.encode("utf-16-le")}
        out |= {base64.b64encode(text.encode(c)) for c in ("utf-8", "utf-16-le")}
    if setting:
        out.add(base64.b64encode((secret + setting).encode("utf-16-le")))
    return sorted(out)


ALL_FORMS = forms(PASSWORD, "AdministratorPassword") + forms(JOIN_PASSWORD)


def leaks(data: bytes) -> list[bytes]:
    return [form for form in ALL_FORMS if form in data]


def test_no_password_in_any_output_or_file_of_the_state_dir(tmp_path: Path) -> None:
    joined = guest(domain={"name": "school.example", "user": "joiner",
                           "password": "{{ lookup('env', 'JOIN_PASSWORD') }}", "ou": "OU=Labs,DC=school,DC=example"})
    inv = inventory(tmp_path, [{"name": "lab-01"}, {"name": "lab-02"}], defaults={"guest": joined},
                    host_seed=seed(guest_domains=["school.example"]))
    state = tmp_path / "state"
    outputs = [
        orchestrate("apply", inv, "--state-dir", state, "--dry-run", "--show-scripts"),
        orchestrate("apply", inv, "--state-dir", state, "--dry-run", "-o", "json", "--show-scripts"),
        orchestrate("render", inv, "--out", tmp_path / "rendered"),
        orchestrate("apply", inv, "--state-dir", state, "--show-scripts", "-o", "json", "-v"),
        orchestrate("history", "--state-dir", state, "-o", "json"),
        orchestrate("rollback", inv, "--to", "clean", "--state-dir", state, "--show-scripts"),
    ]
    applied = outputs[3]
    assert applied.exit_code == 0, applied.output
    assert {e["vm"] for e in events(applied) if e["event"] == "guest_ready"} == {"lab-01", "lab-02"}
    sim = simulated(state)
    for name in ("lab-01", "lab-02"):
        assert not has_answer_file(sim, name)
        vm = sim.host.vm_by_name(name)[0]
        volume_os = vm.guest_run
        assert volume_os == {"phase": "ready"}
    for result in outputs:
        assert leaks(result.stdout_bytes) == [], result.stdout[:500]
        assert leaks(result.stderr_bytes or b"") == []
    files = [p for p in [*state.rglob("*"), *(tmp_path / "rendered").rglob("*")] if p.is_file()]
    assert any(p.suffix == ".json" for p in files) and len(files) > 3
    for path in files:
        assert leaks(path.read_bytes()) == [], path


def test_the_script_the_user_sees_takes_the_answer_file_from_stdin(tmp_path: Path) -> None:
    """The shown apply script names the answer file's secret and reads it with Get-OrchestrateSecret; the file's
    text (and the passwords in it) travels only after the script, inside the channel."""
    inv = inventory(tmp_path, [{"name": "lab-01"}])
    shown = orchestrate("apply", inv, "--state-dir", tmp_path / "state", "--dry-run", "--show-scripts")
    assert shown.exit_code == 0, shown.output
    assert "Get-OrchestrateSecret -Name 'answer." in shown.stdout
    assert "<unattend" not in shown.stdout and "AdministratorPassword" not in shown.stdout


def test_while_setup_runs_the_disk_holds_the_answer_file_as_a_real_disk_would(tmp_path: Path) -> None:
    """The check above is not blind: cut off after 5 minutes of setup, the simulated disk (in the state file)
    still holds the answer file with the hidden password, exactly as the real disk would until SetupComplete
    deletes it; the outputs still hold none."""
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": guest(ready_timeout="5m")})
    state = tmp_path / "state"
    result = orchestrate("apply", inv, "--state-dir", state, "-o", "json")
    assert result.exit_code != 0 and leaks(result.stdout_bytes) == []
    assert has_answer_file(simulated(state), "lab-01")
    state_files = b"".join(p.read_bytes() for p in (state / "simulator").rglob("*.json"))
    assert base64.b64encode((PASSWORD + "AdministratorPassword").encode("utf-16-le")) in state_files


def test_no_checkpoint_or_export_keeps_a_copy_of_the_answer_file_while_setup_runs(tmp_path: Path) -> None:
    """The baseline waits for the guest to be ready because the disk holds the answer file until then. The
    admin's own `orchestrate checkpoint` and `orchestrate export` wait too: both are refused while setup runs,
    nothing is copied, and the guest's setup goes on untouched."""
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": guest(ready_timeout="5m")})
    state = tmp_path / "state"
    assert orchestrate("apply", inv, "--state-dir", state).exit_code != 0  # still in setup after 5 minutes
    assert has_answer_file(simulated(state), "lab-01")

    checkpoint = orchestrate("checkpoint", inv, "--name", "before-exam", "--state-dir", state, "-o", "json")
    export = orchestrate("export", inv, "--to", "\\\\nas\\exports", "--state-dir", state, "-o", "json")

    for result, what in ((checkpoint, "a checkpoint"), (export, "an export to \\\\nas\\exports")):
        assert result.exit_code != 0
        assert f"still holds the answer file with the passwords until setup ends: {what} now" in host_failure(result)
    sim = simulated(state)
    vm = sim.host.vm_by_name("lab-01")[0]
    assert vm.snapshots == {}
    assert vm.state == "Running" and vm.guest_run is not None and vm.guest_run["phase"] != "ready"
    assert not any("exports" in path.lower() for path in sim.host.files)


def test_apply_revert_after_takes_no_revert_checkpoint_of_a_guest_in_setup(tmp_path: Path) -> None:
    """`apply --revert-after` checkpoints every existing VM it changes before it starts. A guest still in
    setup only gets the wait and its baseline this run; checkpointing it first would keep the answer file,
    and the revert would turn setup off. So it is left out of the revert, and the run says so."""
    inv = inventory(tmp_path, [{"name": "lab-01"}], defaults={"guest": guest(ready_timeout="5m")})
    state = tmp_path / "state"
    assert orchestrate("apply", inv, "--state-dir", state).exit_code != 0  # still in setup after 5 minutes

    result = orchestrate("apply", inv, "--revert-after", "10m", "--state-dir", state, "-o", "json")

    assert "VM(s) lab-01 are left out of the revert: their guest is still in setup" in result.output
    vm = simulated(state).host.vm_by_name("lab-01")[0]
    assert not any(s.name.startswith("pre-apply-") for s in vm.snapshots.values())
