"""Sizes as PowerShell reads them: powers of two, exact bytes, and back to the shortest exact text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.sizes import format_size, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("8GB", 8589934592),
        ("512MB", 536870912),
        ("1KB", 1024),
        ("2TB", 2 * 1024**4),
        ("1PB", 1024**5),
        ("8gb", 8589934592),
        ("1.5GB", 1610612736),
        ("4096", 4096),
        (" 64GB ", 64 * 1024**3),
        ("0GB", 0),
        (123, 123),
    ],
)
def test_parse(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["8 gigs", "GB", "-1GB", "8XB", "1.3B", "0.1KB", "", True, None, 8.5])
def test_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_size(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("size", "text"), [(8589934592, "8GB"), (1536 * 1024**2, "1536MB"), (1000, "1000"), (0, "0")]
)
def test_format(size: int, text: str) -> None:
    assert format_size(size) == text


@given(st.integers(min_value=0, max_value=2**60))
def test_format_parses_back_exactly(size: int) -> None:
    assert parse_size(format_size(size)) == size
