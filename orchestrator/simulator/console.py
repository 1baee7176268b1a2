"""How output that reaches the end of the top-level pipeline becomes text on stdout (Out-Default, simplified).

Strings and numbers print as themselves, one per line; objects print as `Name : Value` lists. The templates
print one JSON string, so only that path has to be exact.
"""

from __future__ import annotations

from typing import Any

from orchestrator.simulator.language.values import PSHashtable, PSObject, to_string


def format_output(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, PSObject) and value.text is None:
        width = max((len(k) for k in value.props), default=0)
        lines = [f"{k.ljust(width)} : {to_string(v)}" for k, v in value.props.items() if not k.startswith("__")]
        return "\r\n" + "\r\n".join(lines) + "\r\n\r\n"
    if isinstance(value, PSHashtable):
        width = max((len(to_string(k)) for k in value), default=4)
        lines = [f"{'Name'.ljust(width)} Value", f"{'----'.ljust(width)} -----"]
        lines += [f"{to_string(k).ljust(width)} {to_string(v)}" for k, v in value.items()]
        return "\r\n" + "\r\n".join(lines) + "\r\n\r\n"
    return to_string(value) + "\r\n"
