"""The MultiPoint Server 2012 sizing floor per seat count (physical table, applied to vCPUs by inference).

A VM below the floor for its seats is a warning, never an error, and an explicit value is never raised
silently; a VM that gives no cpus/memory gets exactly the floor.
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 1024**3


@dataclass(frozen=True, slots=True)
class Floor:
    seats_up_to: int
    cpus: int
    memory: int


FLOORS = (
    Floor(4, 2, 2 * GB),
    Floor(6, 2, 4 * GB),
    Floor(10, 4, 6 * GB),
    Floor(14, 4, 8 * GB),
    Floor(20, 6, 8 * GB),
)


def floor_for(seats: int) -> Floor:
    """The floor row for `seats` (0 seats counts as the smallest row; above 20 uses the last row)."""
    for floor in FLOORS:
        if seats <= floor.seats_up_to:
            return floor
    return FLOORS[-1]
