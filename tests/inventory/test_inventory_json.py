"""JSON inventories and JSON vars files are read as JSON first, as Ansible's loader reads them.

Given a `.json` inventory or a `group_vars/*.json` file written by a tool (Terraform outputs, a CMDB export:
`json.dumps` writes `1e-05` and `1e+20`), when the admin resolves the inventory, then every number is the
float Ansible reads (YAML 1.1 would read `1e-05`, `1E3` and `1.5e2` as text), and a finding about a value
still points at the line the value is on. ansible-core is the oracle.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from inventory_support import ansible_view, load, ours, write

NUMBERS = '{"ratio": 1e-05, "big": 1e+20, "k": 1E3, "m": 1.5e2, "plain": 2.5, "n": 7, "text": "1e3"}'


def test_a_json_vars_file_reads_numbers_like_ansible(tmp_path: Path) -> None:
    write(tmp_path / "inv.yaml", "all:\n  children:\n    lab:\n      hosts: {hv01: }\n")
    write(tmp_path / "group_vars/lab.json", NUMBERS + "\n")
    inventory = tmp_path / "inv.yaml"
    assert ours(inventory) == ansible_view(inventory)
    host = ours(inventory)["_meta"]["hostvars"]["hv01"]
    assert (host["ratio"], host["big"], host["k"], host["m"], host["text"]) == (1e-05, 1e20, 1000.0, 150.0, "1e3")


def test_a_json_inventory_reads_numbers_like_ansible_and_keeps_its_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path / "inv.json",
        '{\n  "all": {\n    "vars": {"ansible_connection": "simulator", "ratio": 1e-05},\n'
        '    "hosts": {\n      "hv01": {"orchestrate_retry": 5, "big": 1E3}\n    }\n  }\n}\n',
    )
    assert ours(path) == ansible_view(path)
    (finding,) = load(path).errors
    assert (finding.location.line, finding.location.column) == (5, 37) and "orchestrate_retry" in finding.message


def test_json_nan_and_infinity_are_floats_as_in_ansible(tmp_path: Path) -> None:
    write(tmp_path / "inv.yaml", "all:\n  hosts: {hv01: }\n")
    write(tmp_path / "host_vars/hv01.json", '{"low": NaN, "high": Infinity}\n')
    inventory = tmp_path / "inv.yaml"
    theirs = ansible_view(inventory)["_meta"]["hostvars"]["hv01"]
    mine = load(inventory).hostvars["hv01"]
    assert math.isnan(theirs["low"]) and math.isnan(mine["low"])
    assert mine["high"] == theirs["high"] == math.inf


@settings(max_examples=40, deadline=None)
@given(
    values=st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]),
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from([1e-05, 1e20, 3e-07, 1e16, -2.5e-10]),  # what json.dumps writes with an exponent
            st.integers(-(10**20), 10**20),
            st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=3),
            st.text(alphabet="1e.+-x ", max_size=6),
        ),
        min_size=1,
    ),
    indent=st.sampled_from([None, 2, "\t"]),
)
def test_any_json_vars_file_reads_as_json(values: dict, indent: int | str | None) -> None:
    """Whatever json.dumps writes, on one line or indented (with tabs too), reads back as the same values."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        write(base / "inv.yaml", "all:\n  hosts: {hv01: }\n")
        (base / "host_vars").mkdir()
        (base / "host_vars/hv01.json").write_text(json.dumps(values, indent=indent))
        assert load(base / "inv.yaml").hostvars["hv01"] == values
