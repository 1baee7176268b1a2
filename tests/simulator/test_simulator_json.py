"""ConvertTo-Json / ConvertFrom-Json output shapes, as Windows PowerShell 5.1 writes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from simulator_support import lines, ok, simulator

from orchestrator.simulator.language.values import utc_iso


def _out(script: str) -> str:
    return ok(simulator(), script).stdout.rstrip("\r\n")


def test_compressed_ordered_hashtable_and_types() -> None:
    script = ("[ordered]@{ s = 'x'; i = 1; big = 4GB; f = 1.5; t = $true; n = $null; a = @(1, 'two'); "
              "h = @{ k = 'v' } } | ConvertTo-Json -Compress")
    assert _out(script) == '{"s":"x","i":1,"big":4294967296,"f":1.5,"t":true,"n":null,"a":[1,"two"],"h":{"k":"v"}}'


def test_enums_are_numbers_and_tostring_gives_names() -> None:
    sim = simulator()
    ok(sim, "New-VM -Confirm:$false -Name 'x' -NoVHD | Out-Null")
    assert lines(ok(sim, "Get-VM -Name 'x' | Select-Object State | ConvertTo-Json -Compress")) == ['{"State":3}']
    assert lines(ok(sim, "ConvertTo-Json -InputObject (Get-VM -Name 'x').State.ToString() -Compress")) == ['"Off"']


def test_escapes_like_javascriptserializer() -> None:
    text = _out("ConvertTo-Json -InputObject \"<a href='x'>&amp;`t`n\" -Compress")
    assert text == '"\\u003ca href=\\u0027x\\u0027\\u003e\\u0026amp;\\t\\n"'
    assert json.loads(text) == "<a href='x'>&amp;\t\n"
    assert json.loads(_out("ConvertTo-Json -InputObject 'Ünïcödé 日本' -Compress")) == "Ünïcödé 日本"


def test_dates_use_the_5_1_date_form_and_tostring_o_gives_iso() -> None:
    assert _out("ConvertTo-Json -InputObject ([datetime]'2026-11-25T02:00:00Z') -Compress") == '"\\/Date(1795572000000)\\/"'
    assert _out("ConvertTo-Json -InputObject ([datetime]'2026-11-25T02:00:00Z').ToString('o') -Compress") == (
        '"2026-11-25T02:00:00.0000000Z"')


def test_depth_limit_turns_deeper_values_into_strings() -> None:
    script = "@{ a = @{ b = @{ c = 1 } } } | ConvertTo-Json -Compress"
    assert _out(script) == '{"a":{"b":{"c":1}}}'
    script = "@{ a = @{ b = @{ c = @{ d = 1 } } } } | ConvertTo-Json -Compress"
    assert _out(script) == '{"a":{"b":{"c":"System.Collections.Hashtable"}}}'
    assert _out("@{ a = @{ b = 1 } } | ConvertTo-Json -Depth 0 -Compress") == '{"a":"System.Collections.Hashtable"}'


def test_arrays_one_element_and_empty() -> None:
    assert _out("ConvertTo-Json -InputObject @(1) -Compress") == "[1]"
    assert _out("@(1) | ConvertTo-Json -Compress") == "1"  # the pipeline unrolls a one-element array
    assert _out("@(1, 2) | ConvertTo-Json -Compress") == "[1,2]"
    assert _out("ConvertTo-Json -InputObject @() -Compress") == "[]"
    assert _out("@() | ConvertTo-Json -Compress") == ""
    assert _out("[ordered]@{ list = @(@{ x = 1 }) } | ConvertTo-Json -Compress -Depth 8") == '{"list":[{"x":1}]}'


def test_an_array_piped_whole_carries_its_count_as_on_windows_powershell() -> None:
    """PowerShell/PowerShell#5579 (5.1): an array that reaches ConvertTo-Json down the pipeline as one object is
    written with the Count alias property of System.Array (#3222); the same array as -InputObject, or as a
    hashtable's value, is an array. A document shaped so is refused by the facts parser, on a host as here."""
    assert _out("$x = @(1, @(2, 3), 4); $x | ConvertTo-Json -Compress") == '[1,{"value":[2,3],"Count":2},4]'
    assert _out(",@(1, 2) | ConvertTo-Json -Compress") == '{"value":[1,2],"Count":2}'
    assert _out("$x = @(1, @(2, 3), 4); ConvertTo-Json -InputObject $x -Compress") == "[1,[2,3],4]"
    assert _out("[ordered]@{ a = @(1, 2) } | ConvertTo-Json -Compress") == '{"a":[1,2]}'


def test_pretty_layout_of_5_1() -> None:
    text = _out("[ordered]@{ a = 1; b = @(1, 2); c = [ordered]@{ d = 'x' } } | ConvertTo-Json")
    assert text == (
        '{\r\n'
        '    "a":  1,\r\n'
        '    "b":  [\r\n'
        '              1,\r\n'
        '              2\r\n'
        '          ],\r\n'
        '    "c":  {\r\n'
        '              "d":  "x"\r\n'
        '          }\r\n'
        '}'
    )
    assert json.loads(text) == {"a": 1, "b": [1, 2], "c": {"d": "x"}}


def test_convertfrom_json_gives_objects() -> None:
    script = """
$o = '{"name":"lab","cpus":4,"tags":["a","b"],"inner":{"x":true}}' | ConvertFrom-Json
$o.name; $o.cpus + 1; $o.tags[1]; $o.inner.x
$o | ConvertTo-Json -Compress
"""
    assert lines(ok(simulator(), script)) == ["lab", "5", "b", "True",
                                               '{"name":"lab","cpus":4,"tags":["a","b"],"inner":{"x":true}}']



@settings(max_examples=200, deadline=None)
@given(moment=st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30)),
                                                      timezone(timedelta(hours=-8))])))
def test_tostring_o_is_the_round_trip_pattern_for_any_moment(moment: datetime) -> None:
    # .NET's "O": yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK: the year always four digits, seven fraction
    # digits, K as 'Z' for UTC, the offset for other zones, nothing for an unspecified kind.
    text = utc_iso(moment)
    zone = "" if moment.tzinfo is None else ("Z" if moment.tzinfo is UTC else moment.isoformat()[-6:])
    assert text[:4] == str(moment.year).rjust(4, "0")
    assert text[4:19] == moment.strftime("-%m-%dT%H:%M:%S")
    assert text[19:] == f".{moment.microsecond:06d}0{zone}"


def test_get_content_raw_is_written_as_an_object_with_its_provider_notes_until_it_is_cast() -> None:
    # PowerShell/PowerShell#6458: Get-Content adds PSPath, PSParentPath, PSChildName, PSDrive, PSProvider and
    # ReadCount, which ConvertTo-Json in Windows PowerShell writes; a cast gives the bare string
    sim = simulator()
    setup = ("$null = New-Item -ItemType Directory -Path 'C:\\t' -Force\n"
             "Set-Content -LiteralPath 'C:\\t\\f.json' -Value '{}'\n")
    raw = json.loads(lines(ok(sim, setup + "ConvertTo-Json -InputObject ([ordered]@{ t = (Get-Content "
                                      "-LiteralPath 'C:\\t\\f.json' -Raw) }) -Compress"))[-1])["t"]
    cast = lines(ok(sim, "ConvertTo-Json -InputObject ([ordered]@{ t = [string](Get-Content -LiteralPath "
                         "'C:\\t\\f.json' -Raw); u = (Get-Content -LiteralPath 'C:\\t\\f.json' -Raw).ToString() }) "
                         "-Compress"))

    assert raw["value"] == "{}\r\n"
    assert raw["PSPath"] == "Microsoft.PowerShell.Core\\FileSystem::C:\\t\\f.json"
    assert raw["PSParentPath"] == "Microsoft.PowerShell.Core\\FileSystem::C:\\t"
    assert raw["PSChildName"] == "f.json"
    assert raw["ReadCount"] == 1
    assert {"PSDrive", "PSProvider"} <= set(raw)
    assert cast == ['{"t":"{}\\r\\n","u":"{}\\r\\n"}']


def test_get_date_is_written_as_an_object_with_display_hint_until_it_is_cast() -> None:
    # PowerShell/PowerShell#5676: Get-Date's DateTime is PSObject-wrapped (DisplayHint, and the DateTime
    # script property), and the serializer of Windows PowerShell writes the wrapper; fixed only in 7.2
    sim = simulator()
    noted = json.loads(lines(ok(sim, "ConvertTo-Json -InputObject ([ordered]@{ d = (Get-Date) }) -Compress"))[-1])["d"]
    plain = json.loads(lines(ok(sim, "ConvertTo-Json -InputObject ([ordered]@{ a = [datetime](Get-Date); "
                                     "b = (Get-Date).AddDays(1); c = (Get-Date).ToUniversalTime(); "
                                     "s = [string](Get-Date); o = (Get-Date).ToString('o') }) -Compress"))[-1])

    assert set(noted) == {"value", "DisplayHint", "DateTime"}
    assert noted["value"].startswith("/Date(") and noted["DisplayHint"] == 2
    assert noted["DateTime"] == "Wednesday, November 25, 2026 1:00:00 AM"
    assert all(isinstance(plain[k], str) for k in "abcso")
    assert plain["a"].startswith("/Date(") and plain["b"].startswith("/Date(") and plain["c"].startswith("/Date(")
