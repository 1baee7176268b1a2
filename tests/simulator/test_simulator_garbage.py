"""A simulated run leaves nothing for Python's cyclic garbage collector: a dry run of a fleet runs two scripts
per host, and every reference cycle left behind (an error kept in $Error with the frames of its traceback,
the interpreter and the host context holding each other) waited for a full collection, which walks every
object alive: about a tenth of a 1,000-host dry run's CPU before."""

from __future__ import annotations

import gc

from orchestrator.simulator import Simulator

# Every way an error is kept past its frames: caught by try/catch ($_ and $Error), written by a cmdlet and
# silenced (-ErrorAction SilentlyContinue still records it in $Error), bindings that fail (one of them in every
# parameter set), a throw; then
# the script's exit.
SCRIPT = """
$ErrorActionPreference = 'Stop'
try { Get-VM -Name 'no-such-vm' } catch { $caught = $_.Exception.Message }
Get-VM -Name 'no-such-vm' -ErrorAction SilentlyContinue | Out-Null
try { Get-VM -NoSuchParameter 1 } catch { $bound = $_.Exception.Message }
try { Stop-VM -Force } catch { $unbound = $_.Exception.Message }
try { throw 'thrown' } catch { $thrown = $_.Exception.Message }
Write-Output ($caught + '|' + $bound + '|' + $unbound + '|' + $thrown + '|' + $Error.Count)
exit 3
"""


def test_a_run_with_caught_errors_leaves_no_reference_cycle() -> None:
    Simulator().run(SCRIPT)  # first run: parses and compiles, fills the caches that stay
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        sim = Simulator()
        result = sim.run(SCRIPT)
        del sim
        unreachable = gc.collect()
    finally:
        if was_enabled:
            gc.enable()

    assert result.exit_code == 3
    caught, bound, unbound, thrown, errors = result.stdout.strip().split("|")
    assert "no-such-vm" in caught and "NoSuchParameter" in bound and thrown == "thrown" and int(errors) >= 5
    assert "mandatory" in unbound  # no parameter set binds: each set's failure was kept to choose the error
    assert unreachable == 0
