"""Host keys expand exactly as ansible-core expands them: ports, numeric/alphabetic ranges, steps, padding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.inventory.hostpatterns import HostPatternError, expand, split_port


def ansible_expand(pattern: str) -> tuple[list[str], int | None]:
    from ansible.plugins.inventory import BaseInventoryPlugin

    return BaseInventoryPlugin._expand_hostpattern(None, pattern)  # type: ignore[arg-type]


def ours(pattern: str) -> tuple[list[str], int | None]:
    name, port = split_port(pattern)
    return expand(name), port


@pytest.mark.parametrize(
    "pattern",
    [
        "hv01",
        "hv[01:12].school.local",
        "lab-[a:d]",
        "even[02:10:2]",
        "web:2222",
        "[::1]:22",
        "::1",
        "fe80::1",
        "foo_:22",
        "a[1:2]b[a:b]",
        "x[a:c:2]",
        "10.0.0.[1:3]",
        "h[:3]",
        "10.1.2.3:5986",
        "hv[1:3]:5985",
        "é[1:2]",
        "[hv01]:22",
        "under_score",
        "dash-",
        "a.b.c",
    ],
)
def test_known_patterns(pattern: str) -> None:
    assert ours(pattern) == ansible_expand(pattern)


@st.composite
def patterns(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        parts.append(draw(st.sampled_from(["hv", "lab-", "a", "x_", ".", "-", "10.", "b"])))
        if draw(st.booleans()):
            if draw(st.booleans()):
                begin, end = sorted(draw(st.lists(st.integers(0, 12), min_size=2, max_size=2)))
                width = draw(st.sampled_from([1, 2]))
                text = f"{begin:0{width}d}:{end:0{width}d}"
            else:
                begin, end = sorted(draw(st.lists(st.sampled_from("abcdef"), min_size=2, max_size=2)))
                text = f"{begin}:{end}"
            if draw(st.booleans()):
                text += f":{draw(st.integers(1, 3))}"
            parts.append(f"[{text}]")
    if draw(st.booleans()):
        parts.append(f":{draw(st.integers(1, 65535))}")
    return "".join(parts)


@settings(max_examples=150, deadline=None)
@given(patterns())
def test_generated_patterns_expand_like_ansible(pattern: str) -> None:
    try:
        expected = ansible_expand(pattern)
    except Exception:  # ansible refuses it: so must we
        with pytest.raises(HostPatternError):
            ours(pattern)
        return
    assert ours(pattern) == expected
