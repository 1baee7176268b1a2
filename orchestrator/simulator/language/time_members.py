"""The properties of System.DateTime and System.TimeSpan a script reads, and a refusal for the others.

.NET Framework 4.5's System.DateTime has Year, Month, Day, Hour, Minute, Second, Millisecond, Date, DayOfWeek,
DayOfYear, TimeOfDay, Ticks and Kind; System.TimeSpan has Days, Hours, Minutes, Seconds, Milliseconds (the
span's components, each with the span's sign, as C#'s truncating / and % give them), Ticks and
TotalDays/TotalHours/TotalMinutes/TotalSeconds/TotalMilliseconds (learn.microsoft.com, System.DateTime and
System.TimeSpan properties). A name outside these tables fails with the name: reading it as $null would let a
script take another branch than on a host, and dotnet.py promises an error for an unknown member of a typed
value. Count and Length are the scalar's 1 (PowerShell 3's rule for every scalar).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from orchestrator.simulator.language.values import PSEnum, PSRuntimeError

_US_PER = {"day": 86_400_000_000, "hour": 3_600_000_000, "minute": 60_000_000, "second": 1_000_000, "ms": 1000}


def datetime_member(obj: datetime, lname: str, name: str) -> Any:
    fn = _DATETIME.get(lname)
    if fn is None:
        return _scalar_or_refuse(lname, name, "System.DateTime")
    return fn(obj)


def timespan_member(span: timedelta, lname: str, name: str) -> Any:
    """A TimeSpan's property, from its exact length in microseconds (a Python timedelta's days are floored,
    .NET's components truncate toward zero: -90 minutes is Days 0, Hours -1, Minutes -30 there)."""
    us = span // timedelta(microseconds=1)
    total = _TOTALS.get(lname)
    if total is not None:
        return us / total
    if lname == "ticks":
        return us * 10
    unit = _COMPONENTS.get(lname)
    if unit is None:
        return _scalar_or_refuse(lname, name, "System.TimeSpan")
    size, modulo = unit
    magnitude = (abs(us) // size) % modulo if modulo else abs(us) // size
    return -magnitude if us < 0 else magnitude


def ticks(obj: datetime) -> int:
    naive = obj.replace(tzinfo=None)
    return int((naive - datetime(1, 1, 1)).total_seconds()) * 10_000_000 + obj.microsecond * 10


def _scalar_or_refuse(lname: str, name: str, type_name: str) -> Any:
    if lname in ("count", "length"):
        return 1
    raise PSRuntimeError(f"The simulator does not model the property '{name}' of [{type_name}].", "NotSupported",
                         "NotImplemented")


def _date(obj: datetime) -> datetime:
    return obj.replace(hour=0, minute=0, second=0, microsecond=0)


_DATETIME: dict[str, Callable[[datetime], Any]] = {
    "year": lambda d: d.year, "month": lambda d: d.month, "day": lambda d: d.day, "hour": lambda d: d.hour,
    "minute": lambda d: d.minute, "second": lambda d: d.second, "millisecond": lambda d: d.microsecond // 1000,
    "date": _date, "dayofyear": lambda d: d.timetuple().tm_yday, "timeofday": lambda d: d - _date(d),
    "dayofweek": lambda d: PSEnum("System.DayOfWeek", d.strftime("%A"), (d.weekday() + 1) % 7),
    "ticks": ticks,
    "kind": lambda d: PSEnum("System.DateTimeKind", "Utc" if d.tzinfo else "Unspecified", 1 if d.tzinfo else 0),
}
_TOTALS = {"totaldays": _US_PER["day"], "totalhours": _US_PER["hour"], "totalminutes": _US_PER["minute"],
           "totalseconds": _US_PER["second"], "totalmilliseconds": _US_PER["ms"]}
# (microseconds per unit, the unit's count within the next larger one; 0 for Days, which has none)
_COMPONENTS = {"days": (_US_PER["day"], 0), "hours": (_US_PER["hour"], 24), "minutes": (_US_PER["minute"], 60),
               "seconds": (_US_PER["second"], 60), "milliseconds": (_US_PER["ms"], 1000)}
