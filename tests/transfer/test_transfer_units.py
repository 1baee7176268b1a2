"""The pure parts: export folder names, which folders retention may delete, how many it deletes, and
progress lines cut anywhere by the transport's chunks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.operations.export import (
    STAMP_RE,
    ExportedCopy,
    export_folder,
    export_folder_of,
    export_stamp,
    folder_name,
    is_export_folder,
    path_problem,
    prune,
)
from orchestrator.runner import ProgressLines


def test_the_stamp_is_utc_with_milliseconds() -> None:
    moment = datetime(2026, 11, 25, 21, 5, 12, 345678, tzinfo=timezone(timedelta(hours=1)))
    assert export_stamp(moment) == "20261125T200512345Z"
    assert (
        export_folder("\\\\nas\\exports\\", "lab-01", moment)
        == "\\\\nas\\exports\\lab-01\\20261125T200512345Z"
    )


YEARS = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC))


@given(YEARS, YEARS)
def test_stamps_sort_as_time_does(a: datetime, b: datetime) -> None:
    a, b = (d.replace(microsecond=d.microsecond // 1000 * 1000) for d in (a, b))
    assert STAMP_RE.match(export_stamp(a))
    assert (export_stamp(a) < export_stamp(b)) == (a < b)


@given(st.text(min_size=1, max_size=40))
def test_any_vm_name_is_one_folder(name: str) -> None:
    folder = folder_name(name)
    assert folder and not any(c in folder for c in '<>:"/\\|?*') and not folder.endswith((" ", "."))


def test_only_folders_we_name_count_as_ours() -> None:
    assert is_export_folder("\\\\nas\\exports\\lab-01\\20261125T200512345Z", "lab-01")
    assert is_export_folder("\\\\nas\\exports\\lab-01\\20261125T200512345Z-3", "lab-01")
    assert not is_export_folder("\\\\nas\\exports\\lab-01\\made-by-hand", "lab-01")
    assert not is_export_folder("\\\\nas\\exports\\lab-02\\20261125T200512345Z", "lab-01")
    assert not is_export_folder("\\\\nas\\exports", "lab-01")


@given(st.integers(0, 12), st.integers(1, 6), st.lists(st.booleans(), max_size=12))
def test_prune_keeps_the_newest_and_only_touches_ours(count: int, keep: int, foreign: list[bool]) -> None:
    history = [
        ExportedCopy(
            100 - i,
            f"D:\\x\\lab-01\\{'made-by-hand' if i < len(foreign) and foreign[i] else f'2026112{i % 10}T000000000Z'}",
        )
        for i in range(count)
    ]  # newest first, as the journal lists them
    removed = prune("lab-01", history, keep)
    ours = [e for e in history if "made-by-hand" not in e.path]
    assert [r.export_id for r in removed] == [e.id for e in ours[max(keep - 1, 0) :]]
    assert all("made-by-hand" not in r.path for r in removed)
    assert prune("lab-01", history, None) == []


@given(st.lists(st.integers(0, 100), min_size=1, max_size=6), st.lists(st.integers(1, 30), max_size=40))
def test_progress_lines_survive_any_chunking(percents: list[int], cuts: list[int]) -> None:
    text = (
        "".join(f'##progress {{"vm": "a", "op": "export", "percent": {p}}}\r\n' for p in percents)
        + '{"ok": true}'
    )
    lines: list[str] = []
    feed = ProgressLines(lines.append)
    position = 0
    for cut in cuts:
        feed("stdout", text[position : position + cut])
        position += cut
    feed("stdout", text[position:])
    feed("stderr", "##progress ignored\n")
    assert lines == [f'##progress {{"vm": "a", "op": "export", "percent": {p}}}' for p in percents]


def test_paths_must_mean_the_same_folder_on_the_hosts() -> None:
    assert path_problem("D:\\exports") is None
    assert path_problem("\\\\nas\\exports") is None
    assert (
        path_problem("exports")
        == "'exports' is not an absolute Windows path (like D:\\exports or \\\\server\\share)"
    )
    assert path_problem("D:exports") is not None
    assert path_problem("\\\\nas") is not None
    assert path_problem("D:\\exports", share_only=True) is not None
    assert path_problem("\\\\nas\\exports\\moves", share_only=True) is None


@pytest.mark.parametrize(
    ("path", "folder"),
    [
        ("\\\\nas\\exports\\lab-01\\20261125T200512345Z", "\\\\nas\\exports\\lab-01\\20261125T200512345Z"),
        ("\\\\nas\\exports\\lab-01\\20261125T200512345Z-2\\lab-01\\Virtual Machines\\A.xml",
         "\\\\nas\\exports\\lab-01\\20261125T200512345Z-2"),
        ("D:\\exports\\lab-01\\20261125T200512345Z\\", "D:\\exports\\lab-01\\20261125T200512345Z"),
        ("\\\\nas\\exports\\by-hand\\lab-01", None),
        ("D:\\VMs\\lab-01\\Virtual Machines\\A.xml", None),
        ("D:\\20261125T200512345Z", None),
    ],
)
def test_export_folder_of_finds_the_folder_retention_may_delete(path: str, folder: str | None) -> None:
    assert export_folder_of(path) == folder


@given(
    st.text(min_size=1, max_size=30),
    YEARS,
    st.sampled_from(["\\\\nas\\exports", "D:\\exports", "\\\\nas\\exports\\term 2"]),
    st.lists(st.sampled_from(["lab-01", "Virtual Machines", "Virtual Hard Disks", "x.xml"]), max_size=3),
)
def test_every_export_folder_we_name_is_found_from_anything_inside_it(
    name: str, moment: datetime, root: str, below: list[str]
) -> None:
    folder = export_folder(root, name, moment)
    assert export_folder_of("\\".join([folder, *below])) == folder


@pytest.mark.parametrize(("version", "live"), [("6.3.9600", True), ("10.0.14393", True), ("6.2.9200", False),
                                               ("unknown", False), ("6.x", False)])
def test_a_live_export_is_planned_only_on_a_host_known_to_take_one(version: str, live: bool) -> None:
    # A version the facts did not give readably is taken as 2012's: ask for --allow-stop, never try a live
    # export a 2012 host refuses (audit J L7).
    from orchestrator.facts import HostFacts
    from orchestrator.operations.export import supports_live_export
    from orchestrator.vm_index import VMIndex

    assert supports_live_export(HostFacts(os_version=version, os_sku=8, vms=VMIndex(()))) is live
