"""Which Windows PowerShell a Windows version ships, and the language features a script uses that it lacks.

Windows Server 2012 ships Windows PowerShell 3.0 and 2012 R2 ships 4.0 (MicrosoftDocs/PowerShell-Docs
reference/docs-conceptual/windows-powershell/install/Windows-PowerShell-System-Requirements.md, the tables
"Windows PowerShell 3.0" and "4.0": "Windows Server 2012 | Installed by default", "Windows Server 2012 R2 |
Installed by default"); 5.1 is "Installed by default" from Windows Server 2016 on, and only with WMF 5.1 on
2012 / 2012 R2, which a school's host is not assumed to have. A template override that uses a newer feature must fail at render time here exactly as it
would fail on the host, so both the renderer's check and the simulator ask this module.

Features and the version that introduced them:
- `class` (and `[Type]::new()`, the constructor call classes brought): 5.0. about_Classes (PowerShell-Docs
  reference/5.1/Microsoft.PowerShell.Core/About/about_Classes.md), Long description: "PowerShell 5.0 adds a
  formal syntax to define classes and other user-defined types."
- `enum` and the `using` statement: 5.0, with classes (about_Enum, about_Using). No sentence dating them was
  found in the stored pages: unverified, refused on 3.0/4.0 (fails safe), listed in docs/real-hosts.md.
- `.Where()` / `.ForEach()` methods on collections: 4.0 (about_Arrays describes them; Where-Object.md's 4.0
  note speaks of the Where() operator "beginning in Windows PowerShell 4.0"). That they are absent from 3.0
  is taken from issue 13's list, not from a page: refused on 3.0 (fails safe), listed as unverified.
Parameters (`-PipelineVariable` 4.0, `-InformationAction`/`-InformationVariable` 5.0, Select-Object `-SkipLast`
and Get-ChildItem `-Depth` 5.0) are version-gated in `signatures`, so binding refuses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from orchestrator import pwsh, signatures

# Windows version (normalised) -> the Windows PowerShell it ships.
POWERSHELL_OF_WINDOWS = {"6.2": "3.0", "6.3": "4.0", "10.0": "5.1"}
# $PSVersionTable.PSVersion as each prints it: 3.0 and 4.0 a two-part System.Version, 2016's in-box 5.1 its
# build 14393 (Windows Server 2016 is build 14393). No page gives these exact values: unverified, listed in
# docs/real-hosts.md as the first command to paste on a real host.
PSVERSION_TEXT = {"3.0": "3.0", "4.0": "4.0", "5.1": "5.1.14393.0"}

_NODE_FEATURES = {
    "invocation_where_expression": ("the .Where() method", "4.0"),
    "invocation_foreach_expression": ("the .ForEach() method", "4.0"),
    "class_statement": ("the class keyword", "5.0"),
    "enum_statement": ("the enum keyword", "5.0"),
    "using_statement": ("the using statement", "5.0"),
}


@dataclass(frozen=True, slots=True)
class NewerFeature:
    """One use of a language feature the host's PowerShell does not have."""

    line: int
    feature: str
    since: str


def powershell_version(os_version: str | None) -> str:
    """'6.2' -> '3.0', '6.3' -> '4.0', '10.0' -> '5.1' (the in-box Windows PowerShell; WMF upgrades are not
    assumed: a school's host runs what it shipped with)."""
    return POWERSHELL_OF_WINDOWS[signatures.normalize_version(os_version)]


def _at_least(version: str, since: str) -> bool:
    return tuple(int(p) for p in version.split(".")) >= tuple(int(p) for p in since.split("."))


def _feature(node: Any) -> tuple[str, str] | None:
    known = _NODE_FEATURES.get(node.type)
    if known is not None:
        return known
    if node.type == "invocation_expression":
        kinds = [c.type for c in node.children]
        member = next((c for c in node.children if c.type == "member_name"), None)
        # The simulator parses UTF-16 text, the renderer UTF-8: drop the NUL bytes of the former.
        if "::" in kinds and member is not None and member.text.replace(b"\x00", b"").lower() == b"new":
            return ("the ::new() constructor", "5.0")
    return None


@cache
def _query() -> Any:
    """One tree-sitter query for every candidate node: a walk of the whole tree in Python costs more than
    the parse (see `pwsh._command_query`)."""
    import tree_sitter

    patterns = " ".join(f"({name}) @n" for name in (*_NODE_FEATURES, "invocation_expression"))
    return tree_sitter.Query(pwsh._language(), patterns)


def newer_features(tree: Any, ps_version: str) -> list[NewerFeature]:
    """Every use in the tree-sitter tree of a feature newer than `ps_version`, in source order."""
    import tree_sitter

    if _at_least(ps_version, "5.0"):
        return []
    found: list[NewerFeature] = []
    for node in tree_sitter.QueryCursor(_query()).captures(tree.root_node).get("n", []):
        feature = _feature(node)
        if feature is not None and not _at_least(ps_version, feature[1]):
            found.append(NewerFeature(node.start_point[0] + 1, feature[0], feature[1]))
    return sorted(found, key=lambda f: f.line)
