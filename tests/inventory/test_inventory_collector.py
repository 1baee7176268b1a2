"""load_inventory pauses Python's cyclic garbage collector while it loads (issue 18) and leaves it as it was."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from orchestrator.inventory import load_inventory

INVENTORY = """\
all:
  hosts:
    hv01:
      ansible_connection: simulator
      multipoint_vms:
        - {name: lab-01, cpus: 2, memory: 4GB, disk: {parent: 'D:\\\\base.vhdx'}}
"""


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was(tmp_path: Path, enabled: bool) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    seen: list[bool] = []
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        inventory = load_inventory(path, environ={})
        seen.append(gc.isenabled())
        broken = load_inventory(tmp_path / "missing.yaml", environ={})  # a refused load restores it too
        seen.append(gc.isenabled())
    finally:
        (gc.enable if was else gc.disable)()
    assert seen == [enabled, enabled]
    assert [vm.name for vm in inventory.hosts["hv01"].vms] == ["lab-01"] and not inventory.errors
    assert broken.errors


def test_the_collector_is_off_during_the_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import orchestrator.inventory as inventory_module

    states: list[bool] = []
    real = inventory_module.collect

    def watching(*args: object, **kwargs: object) -> object:
        states.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inventory_module, "collect", watching)
    path = tmp_path / "inv.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    was = gc.isenabled()
    gc.enable()
    try:
        load_inventory(path, environ={})
        after = gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
    assert states == [False] and after
