"""YAML anchors reused as admins reuse them are read as Ansible reads them; only an alias bomb is refused.

Given a school inventory whose hosts share their settings through one anchor (`<<: *defaults` on every
host, a shared software list aliased by every classroom group), when the admin validates or lists it, then
it resolves exactly as ansible-inventory resolves it, however many times the anchor is reused. A billion
laughs (anchors that alias anchors, ten times per level) is still refused at once, at its line.
"""

from __future__ import annotations

import time
from pathlib import Path

from inventory_support import ansible_view, cli, ours, write

from orchestrator.inventory.yaml_source import MAX_ALIAS_EXPANSION


def reused_defaults(hosts: int, settings: int) -> str:
    """`hosts` hosts that each merge a `settings`-value defaults mapping, and a software list per room."""
    defaults = "".join(f"      setting_{n:03}: value-{n}\n" for n in range(settings))
    software = "".join(f"      - package-{n:04}\n" for n in range(settings))
    lines = [
        "all:",
        "  vars:",
        "    defaults: &defaults",
        defaults.rstrip("\n"),
        "    software: &software",
        software.rstrip("\n"),
        "  children:",
    ]
    for room in range(5):
        lines += [f"    room{room}:", "      vars: {software: *software}", "      hosts:"]
        for n in range(hosts // 5):
            lines += [f"        pc{room}-{n:03}:", "          <<: *defaults", f"          seat: {n}"]
    return "\n".join(lines) + "\n"


def test_an_anchor_merged_into_every_host_resolves_as_in_ansible(tmp_path: Path) -> None:
    """600 hosts x 200 defaults: 120,000 values once the aliases are written out, all of them ordinary."""
    inventory = write(tmp_path / "school.yml", reused_defaults(hosts=600, settings=200))
    assert ours(inventory) == ansible_view(inventory)


def test_an_alias_bomb_is_still_refused_quickly_at_its_line(tmp_path: Path) -> None:
    lines = ["a: &a [" + ", ".join(["lol"] * 10) + "]"]
    for level in range(1, 10):
        this, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{this}: &{this} [" + ", ".join([f"*{previous}"] * 10) + "]")
    inventory = write(tmp_path / "bomb.yml", "all:\n  vars:\n" + "".join(f"    {x}\n" for x in lines))
    started = time.monotonic()
    result = cli("validate", str(inventory))
    assert time.monotonic() - started < 5
    assert result.exit_code == 2
    assert f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} values (a YAML alias bomb?)" in result.stdout
    assert f"{inventory}:8:" in result.stdout  # the row of the alias that crosses the limit
