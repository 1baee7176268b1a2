"""Whether this machine has the libraries a host's logon needs: pywinrm's optional extras.

pywinrm makes Kerberos and CredSSP logons only when their libraries import (winrm/transport.py:
HAVE_KERBEROS needs `kerberos` (pykerberos) or `winkerberos` under its vendored requests_kerberos,
HAVE_CREDSSP needs `requests_credssp`); without them every connection fails with "requested auth method is
kerberos, but pykerberos is not installed". The run says so per host (transport/errors.py); `validate`, which
contacts nothing, asks here first, so the admin learns it before the run. Looked up with
importlib.util.find_spec: nothing is imported, so `validate` stays as quick as before.
"""

from __future__ import annotations

import importlib.util

# transport -> (the modules, any one of which will do; the pip command that installs them)
_EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {
    "kerberos": (("kerberos", "winkerberos"), "pip install 'pywinrm[kerberos]' (and run kinit for the user)"),
    "credssp": (("requests_credssp",), "pip install 'pywinrm[credssp]'"),
}


def missing_extra(transport: str) -> str | None:
    """The pip command that would make `transport` work here, or None when nothing is missing."""
    needed = _EXTRAS.get(transport)
    if needed is None:
        return None
    modules, fix = needed
    if any(importlib.util.find_spec(name) is not None for name in modules):
        return None
    return fix
