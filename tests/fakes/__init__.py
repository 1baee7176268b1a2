"""Offline stand-ins for Windows hosts: a fake WinRM server (WS-Management on 127.0.0.1) and a test double.

from fakes import FakeWinRMServer, ScriptDouble
with FakeWinRMServer(ScriptDouble(), users={"admin": "pw"}) as server:
    server.url()          # http://127.0.0.1:<port>/wsman
    server.stats()        # requests, connections, commands, shells_open, ...
"""

from .doubles import Result, ScriptDouble
from .server import FakeWinRMServer, Rule

__all__ = ["FakeWinRMServer", "Result", "Rule", "ScriptDouble"]
