"""Ansible host patterns, for `--limit`: which inventory hosts a pattern selects.

Admins already know Ansible's pattern language, so `--limit` speaks it with the same meaning, checked against
ansible-core itself in the tests:

- `all`, `*`, an empty pattern or no pattern at all: every host;
- a host name, or a group name (the group's hosts and, recursively, its children's);
- shell globs on host and group names (`hv*`, `lab-?`, `room[ab]`) and regular expressions with a `~` prefix
  (`~hv[0-9]+`, matched from the start of the name, as `re.match` does);
- lists separated by commas (`a,b`) or, for backward compatibility, colons (`a:b`; not when the whole pattern
  is an IP address or `host:port`);
- `!term` excludes, `&term` intersects; they apply after all plain terms, whatever their position, and a
  pattern of only exclusions and intersections starts from `all`;
- a subscript on a term (`classroom[0]`, `classroom[1:3]`, `classroom[-1]`), as Ansible writes them.

Where we differ from Ansible, on purpose:
- the result is in inventory order (Ansible returns pattern order), because the runner, the recap and the
  journal list hosts in inventory order;
- a subscript indexes the term's matches in Ansible's order (Group.get_hosts: the group's own hosts, then
  its descendants' breadth first, children in the order they were added; groups matched by a glob one after
  the other, duplicates kept, then hosts matched by name), so `lab[0]` is the host Ansible picks. Where
  Ansible's order depends on set iteration (grandchildren reached through several children), which is not
  stable between runs, we keep each level in the order its parents were reached;
- `localhost` is never implicitly added: this tool only contacts hosts the inventory names;
- a pattern that selects nothing is an error (`PatternError`) rather than a warning, because running on no
  host is never what the admin meant. `unmatched_terms` lists the terms that matched nothing, so the CLI can
  warn about a typo in `hv1,hv2,hvv3` as Ansible does.
"""

from __future__ import annotations

import difflib
import fnmatch
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from orchestrator.model import Inventory

ALL = "all"
UNGROUPED = "ungrouped"

# Ansible's own expression for a subscripted term: `expr[3]`, `expr[-1]`, `expr[1:3]`, `expr[2:]`.
_SUBSCRIPT = re.compile(
    r"""^
        (.+)                    # a pattern expression ending with...
        \[(?:                   # a [subscript] comprising:
            (-?[0-9]+)|         # a single positive or negative number
            ([0-9]+)([:-])      # or an x:y, x: (or the old x-y) range
            ([0-9]*)
        )\]
        $
    """,
    re.X,
)
# Ansible's colon-list splitter: runs of anything but whitespace, ':' and brackets, or bracketed expressions.
_COLON_TERMS = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
# A host name (with optional [x:y] ranges in its labels) followed by a port: one term, not a colon list.
_HOST_PORT = re.compile(r"^[A-Za-z0-9_\-.\[\]]+:[0-9]+$")
_GLOB_OR_REGEX_MARKS = (".", "?", "*", "[")


class PatternError(ValueError):
    """A --limit pattern that is malformed or selects no host. The message names the pattern."""


class NoHostMatched(PatternError):
    """A well-formed pattern that selects no host (a subclass, for callers for which that is not an error)."""


@dataclass(frozen=True, slots=True)
class HostUniverse:
    """What a pattern is matched against: host names in inventory order and each group's resolved hosts."""

    hosts: tuple[str, ...]
    groups: Mapping[str, tuple[str, ...]]
    source: str = "the inventory"


def select_hosts(inventory: Inventory, pattern: str | None) -> list[str]:
    """The names of the inventory's hosts that `pattern` selects, in inventory order.

    Raises PatternError when a term is malformed (a bad regex, an out-of-range subscript) or when the pattern
    selects no host at all.
    """
    return select(universe_of(inventory), pattern)


def select_names(names: Iterable[str], pattern: str | None, *, source: str = "the journal") -> list[str]:
    """The same pattern language over bare host names with no groups (e.g. host names found in the journal)."""
    ordered = tuple(dict.fromkeys(names))
    return select(HostUniverse(ordered, {ALL: ordered}, source), pattern)


def unmatched_terms(inventory: Inventory, pattern: str | None) -> list[str]:
    """The terms of `pattern` that match no host and no group, as Ansible would warn about them."""
    universe = universe_of(inventory)
    missing = []
    for term in split_pattern(pattern or ""):
        bare = term[1:] if term[0] in "!&" else term
        if not bare or bare == ALL or term in universe.hosts:
            continue
        expr, _ = _split_subscript(bare)
        if not _match_list(universe.groups, expr) and not _match_list(universe.hosts, expr):
            missing.append(term)
    return missing


def universe_of(inventory: Inventory) -> HostUniverse:
    """Resolve every group to its hosts, children included, in Ansible's order (see _resolve_group), with
    Ansible's implicit `all` and `ungrouped`, in the order of Ansible's groups (all, ungrouped, the others as
    defined)."""
    hosts = tuple(inventory.hosts)
    known = set(hosts)
    everything = _resolve_group(inventory, ALL, known) if ALL in inventory.groups else ()
    groups: dict[str, tuple[str, ...]] = {ALL: everything + tuple(h for h in hosts if h not in everything)}
    directly_grouped = {
        host
        for name, group in inventory.groups.items()
        if name not in (ALL, UNGROUPED)
        for host in group.hosts
    }
    groups[UNGROUPED] = tuple(h for h in hosts if h not in directly_grouped)
    if UNGROUPED in inventory.groups:
        listed = tuple(h for h in inventory.groups[UNGROUPED].hosts if h in groups[UNGROUPED])
        groups[UNGROUPED] = listed + tuple(h for h in groups[UNGROUPED] if h not in listed)
    for name in inventory.groups:
        if name not in (ALL, UNGROUPED):
            groups[name] = _resolve_group(inventory, name, known)
    return HostUniverse(hosts, groups, inventory.path or "the inventory")


def _resolve_group(inventory: Inventory, name: str, known: set[str]) -> tuple[str, ...]:
    """A group's hosts plus its descendants' hosts, in the order of Ansible's Group.get_hosts: the group
    itself, its children in order, then each further level breadth first (Group._walk_relationship with
    preserve_ordering), each group's hosts in the order they were added, every host once. Ansible walks a
    level from a set, so its order among several parents' children is arbitrary; we take the parents in the
    order they were reached. Hosts not in `known` (not in this inventory's view) are left out."""
    ordered = [name, *inventory.groups[name].children]
    seen = set(ordered)
    level = list(inventory.groups[name].children)
    while level:
        following: list[str] = []
        for parent in level:
            for child in inventory.groups[parent].children if parent in inventory.groups else ():
                if child not in seen:
                    seen.add(child)
                    ordered.append(child)
                    following.append(child)
        level = following
    members: dict[str, None] = {}
    for group in ordered:
        if group in inventory.groups:
            for host in inventory.groups[group].hosts:
                if host in known:
                    members.setdefault(host, None)
    return tuple(members)


def split_pattern(pattern: str) -> list[str]:
    """Split a pattern into terms as Ansible does: on commas if there are any, else on colons unless the
    whole pattern is one address (an IPv4/IPv6 address or `host:port`)."""
    if "," in pattern:
        parts = pattern.split(",")
    elif _is_single_address(pattern.strip()):
        parts = [pattern]
    else:
        parts = _COLON_TERMS.findall(pattern)
    return [p.strip() for p in parts if p.strip()]


def _is_single_address(text: str) -> bool:
    if ":" not in text:
        return True
    if _HOST_PORT.match(text):
        return True
    candidate = text[1:].split("]")[0] if text.startswith("[") else text
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def select(universe: HostUniverse, pattern: str | None) -> list[str]:
    """Evaluate `pattern` over `universe`: plain terms unite, then `&` terms intersect, then `!` terms exclude."""
    terms = split_pattern(pattern or "")
    plain = [t for t in terms if t[0] not in "!&"]
    ordered = (plain or [ALL]) + [t for t in terms if t[0] == "&"] + [t for t in terms if t[0] == "!"]
    chosen: set[str] = set()
    for term in ordered:
        if term in universe.hosts:
            chosen.add(term)
            continue
        matches = set(_match_term(universe, term[1:] if term[0] in "!&" else term))
        if term[0] == "!":
            chosen -= matches
        elif term[0] == "&":
            chosen &= matches
        else:
            chosen |= matches
    result = [h for h in universe.hosts if h in chosen]
    if not result and pattern is not None:
        raise NoHostMatched(no_match_message(universe, pattern))
    return result


def no_match_message(universe: HostUniverse, pattern: str) -> str:
    """Why nothing was selected, what the admin probably meant, and the names there are: a new admin types
    the short name (`hv01`) of a host the inventory names in full (`hv01.demo.local`)."""
    guesses: list[str] = []
    for term in split_pattern(pattern):
        bare = term.lstrip("!&")
        if bare and not any(mark in bare for mark in ("*", "?", "[", "~")):
            guesses.extend(close_names(bare, universe.hosts, [g for g in universe.groups if g != ALL]))
    lines = [f"host pattern {pattern!r} matches no host in {universe.source}"]
    if guesses:
        lines.append("did you mean " + " or ".join(repr(g) for g in dict.fromkeys(guesses)) + "?")
    lines.append(host_list(universe.hosts))
    return "\n  ".join(lines)


def close_names(name: str, hosts: Sequence[str], groups: Sequence[str] = ()) -> list[str]:
    """Host (then group) names close to `name`, at most three: the hosts whose short name (up to the first
    dot) is `name`; else the names difflib finds close (full names, and hosts by their short name), the best
    ones only (`hv-01` is hv01.demo.local, not hv02 as well)."""
    folded = name.lower()
    exact = [host for host in hosts if host.split(".")[0].lower() == folded]
    if exact:
        return exact[:3]
    scores: dict[str, float] = {}
    for candidate in [*hosts, *groups]:
        short = candidate.split(".")[0].lower() if candidate in hosts else candidate.lower()
        score = max(
            difflib.SequenceMatcher(None, folded, candidate.lower()).ratio(),
            difflib.SequenceMatcher(None, folded, short).ratio(),
        )
        if score >= 0.6:
            scores[candidate] = max(score, scores.get(candidate, 0.0))
    if not scores:
        return []
    best = max(scores.values())
    close = [c for c in scores if scores[c] >= best - 0.1]
    return sorted(close, key=lambda c: -scores[c])[:3]


def host_list(hosts: Sequence[str], limit: int = 20) -> str:
    """`hosts: a, b, c` (the first `limit` of them), for a message that must say what names exist."""
    if not hosts:
        return "the inventory has no hosts"
    shown = ", ".join(hosts[:limit])
    more = f" and {len(hosts) - limit} more" if len(hosts) > limit else ""
    return f"hosts: {shown}{more}"


def _match_term(universe: HostUniverse, term: str) -> list[str]:
    """One term without its `!`/`&`: group names first; host names too if no group matched or it is a glob."""
    if not term:
        return []
    expr, subscript = _split_subscript(term)
    matching_groups = _match_list(universe.groups, expr)
    # Ansible's _enumerate_matches: each matching group's hosts in its order, one group after the other
    # (duplicates kept: the subscript indexes this list), then the hosts matched by name
    matches: list[str] = []
    for group in matching_groups:
        matches.extend(universe.groups[group])
    if not matching_groups or expr[0] == "~" or any(mark in expr for mark in _GLOB_OR_REGEX_MARKS):
        matches.extend(_match_list(universe.hosts, expr))
    if subscript is None:
        found = set(matches)
        return [h for h in universe.hosts if h in found]
    return _apply_subscript(matches, subscript, term)


def _match_list(names: Iterable[str], expr: str) -> list[str]:
    try:
        regex = re.compile(expr[1:]) if expr[0] == "~" else re.compile(fnmatch.translate(expr))
    except re.error as error:
        raise PatternError(f"invalid host pattern {expr!r}: {error}") from None
    return [name for name in names if regex.match(name)]


def _split_subscript(term: str) -> tuple[str, tuple[int, int | None] | None]:
    """`web[1:3]` -> ('web', (1, 3)); `web[-1]` -> ('web', (-1, None)); regexes never carry a subscript."""
    if term[0] == "~":
        return term, None
    m = _SUBSCRIPT.match(term)
    if not m:
        return term, None
    expr, index, start, _sep, end = m.groups()
    if index:
        return expr, (int(index), None)
    return expr, (int(start), int(end) if end else -1)


def _apply_subscript(hosts: Sequence[str], subscript: tuple[int, int | None] | None, term: str) -> list[str]:
    """Ansible's slicing: [x] one host, [x:y] inclusive, [x:] to the end (Ansible treats [x:0] as [x])."""
    if not hosts or subscript is None:
        return list(hosts)
    start, end = subscript
    if end:
        stop = len(hosts) - 1 if end == -1 else end
        return list(hosts[start : stop + 1])
    try:
        return [hosts[start]]
    except IndexError:
        raise PatternError(f"no host matches the subscripted pattern {term!r}") from None
