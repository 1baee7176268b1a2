"""A UTF-8 byte order mark in front of powershell.exe's stdout or stderr (a console of code page 65001 may
write one: dotnet/corefx#35950) must not hide CLIXML, nor the bootstrap's refusal of a garbled script."""

from __future__ import annotations

from orchestrator.transport.stdin import STDIN_CHECK_EXIT, STDIN_CHECK_FAILED, received_whole
from orchestrator.transport.winrm import ClixmlStream

BOM = "\ufeff".encode()
CLIXML = (
    '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
    '<S S="Error">boom: VM not found_x000D__x000A_</S></Objs>'
)


def test_clixml_after_a_bom_is_decoded():
    stream = ClixmlStream()
    text = stream.feed(BOM + CLIXML.encode()) + stream.finish()
    assert text == "boom: VM not found\n"


def test_a_bom_split_over_two_receives_is_dropped_once():
    stream = ClixmlStream()
    data = BOM + CLIXML.encode()
    text = stream.feed(data[:2]) + stream.feed(data[2:]) + stream.finish()
    assert text == "boom: VM not found\n"


def test_plain_stderr_after_a_bom_loses_only_the_bom():
    stream = ClixmlStream()
    assert stream.feed(BOM + "\ufeffplain".encode()) + stream.finish() == "\ufeffplain"


def test_the_stdin_refusal_after_a_bom_is_recognised():
    assert not received_whole(STDIN_CHECK_EXIT, "\ufeff" + STDIN_CHECK_FAILED + " length 3, expected 4")
