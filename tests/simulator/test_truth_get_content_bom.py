"""Get-Content reads a file through .NET's StreamReader, which detects a byte order mark and skips it: the
text it returns never starts with U+FEFF (audit N L7).

Sources: Windows PowerShell's FileSystem provider opens its reader as `new StreamReader(_stream, fileEncoding)`
(PowerShell/PowerShell src/System.Management.Automation/namespaces/FileSystemContentStream.cs, CreateStreams,
commit 004cce2d; the open-sourced descendant of the 3.0 provider), and that constructor looks for byte order
marks ("The detectEncodingFromByteOrderMarks parameter detects the encoding by looking at the first three bytes
of the stream. It automatically recognizes UTF-8, little-endian Unicode, and big-endian Unicode text if the file
starts with the appropriate byte order marks": StreamReader constructor pages, learn.microsoft.com). Set-Content
-Encoding UTF8 writes that BOM (host/cmdlets_content.py). Only a leading mark is a BOM; one inside the text is a
character and stays."""

from __future__ import annotations

import pytest
from simulator_support import HEADER, lines, ok, simulator


@pytest.mark.parametrize("encoding", ["UTF8", "Unicode", "BigEndianUnicode", "Ascii"])
def test_get_content_raw_does_not_return_the_bom_set_content_wrote(encoding: str) -> None:
    sim = simulator(os_version="6.2")
    out = lines(ok(sim, HEADER + f"Set-Content -LiteralPath 'C:\\x.txt' -Value 'x' -Encoding {encoding} -Confirm:$false\n"
                   "$t = Get-Content -LiteralPath 'C:\\x.txt' -Raw\n"
                   "$t.Length\n$t.IndexOf('x')\n$t.StartsWith('x')"))
    assert out == ["3", "0", "True"]  # 'x' CRLF


def test_a_byte_order_mark_inside_the_text_is_kept() -> None:
    sim = simulator(os_version="6.2")
    ok(sim, HEADER + "Set-Content -LiteralPath 'C:\\x.txt' -Value 'ab' -Encoding UTF8 -Confirm:$false")
    sim.host.files["c:\\x.txt"].text = "\ufeffa\ufeffb\r\n"  # the BOM, then a U+FEFF between a and b
    out = lines(ok(sim, HEADER + "$t = Get-Content -LiteralPath 'C:\\x.txt' -Raw\n$t.Length\n$t.IndexOf('b')"))
    assert out == ["5", "2"]  # a, U+FEFF, b, CRLF
