"""A bare `throw` in a catch block rethrows the error it handles ("If the Throw keyword is used in a Catch
block without an expression, it throws the current RuntimeException again": about_Throw, 3.0). The
simulator used to throw "ScriptHalted" instead, so a failed export reported that, not New-Item's reason
(templates/actions/export_vm.ps1.j2; audit F, M1)."""

from __future__ import annotations

from simulator_support import HEADER, lines, ok, simulator


def test_a_bare_throw_in_a_catch_block_rethrows_the_error_it_handles() -> None:
    result = ok(simulator(), HEADER + "\n".join([
        "try { try { throw 'the folder is not empty' } catch { throw } } catch { $_.Exception.Message }",
        "try { throw } catch { $_.Exception.Message }",
        # A script block run from the catch block is not in it: its bare throw is ScriptHalted (lexical).
        "try { try { throw 'inner' } catch { & { throw } } } catch { $_.Exception.Message }",
        "try { try { throw 'first' } catch { try { throw 'second' } catch { } ; throw } } catch { $_.Exception.Message }",
    ]))
    assert lines(result) == ["the folder is not empty", "ScriptHalted", "ScriptHalted", "first"]
