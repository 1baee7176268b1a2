"""Rules for `multipoint_schedules`: the nightly rollback jobs a later issue installs on the host."""

from __future__ import annotations

import re
from collections.abc import Iterator

from orchestrator.model import WEEKDAYS, Finding, HostSpec
from orchestrator.names import select_names
from orchestrator.rules.findings import at, finding, not_a_choice, shown
from orchestrator.rules.names import checkpoint_name_problem, printable_problem

ACTIONS = ("rollback",)
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def check_schedules(host: HostSpec) -> Iterator[Finding]:
    names: set[str] = set()
    for schedule in host.schedules:
        loc = schedule.locations
        label = f"host {host.name}: schedule {shown(schedule.name)}"
        for what, value in (("name", schedule.name), ("checkpoint", schedule.checkpoint)):
            problem = (checkpoint_name_problem if what == "checkpoint" else printable_problem)(value)
            if problem:
                yield finding(
                    "error",
                    f"{label}: the {what} {problem}",
                    f"write a printable {what}" + (" without spaces at its ends" if what == "checkpoint" else ""),
                    at(loc, what, schedule.location),
                )
        if schedule.name.lower() in names:
            yield finding(
                "error",
                f"{label}: two schedules have this name",
                "give each schedule its own name",
                at(loc, "name", schedule.location),
            )
        names.add(schedule.name.lower())
        if schedule.action not in ACTIONS:
            yield not_a_choice(
                label, "action", schedule.action, ACTIONS, at(loc, "action", schedule.location)
            )
        if not _TIME.match(schedule.at):
            yield finding(
                "error",
                f"{label}: at {shown(schedule.at)} is not a time HH:MM (00:00 to 23:59)",
                "write the host's local time in quotes, like at: '02:30'",
                at(loc, "at", schedule.location),
            )
        elif schedule.at[:2] in ("01", "02"):
            # Daylight saving time skips (spring) or repeats (autumn) an hour between 01:00 and 03:00 in the
            # US, the EU and the UK. What Task Scheduler does with a weekly trigger inside that hour is not on
            # its 2012 pages (docs/real-hosts.md lists it as unverified): it may run late, twice or not at all.
            yield finding(
                "warning",
                f"{label}: at {shown(schedule.at)} falls in the hour daylight saving time skips or repeats in "
                "many time zones (01:00 to 02:59): on those nights the rollback may run late, twice, or not",
                "pick a time from 03:00 on (or before 01:00), e.g. at: '03:30'",
                at(loc, "at", schedule.location),
            )
        for day in schedule.days:
            if day not in WEEKDAYS:
                yield not_a_choice(label, "day", day, WEEKDAYS, at(loc, "days", schedule.location))
        if not schedule.days:
            yield finding(
                "error",
                f"{label}: days is empty",
                "list the days, or remove days for every day",
                at(loc, "days", schedule.location),
            )
        if host.vms and not select_names(schedule.vms, [vm.name for vm in host.vms]):
            yield finding(
                "warning",
                f"{label}: vms {shown(schedule.vms)} matches no VM on this host",
                "check the pattern (a VM name, or a glob like lab-*; [[] matches a literal [)",
                at(loc, "vms", schedule.location),
            )
