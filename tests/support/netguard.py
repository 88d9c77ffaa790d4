"""A sitecustomize for child Python processes: record every network connection and name lookup,
and refuse any that is not loopback (tests of what the teardown script may reach).

``install(directory)`` writes it as ``directory/sitecustomize.py``; a child started with
``PYTHONPATH=directory`` and ``PM_NET_LOG=<file>`` appends ``connect HOST:PORT`` and
``lookup HOST`` lines to the file.
"""

from __future__ import annotations

from pathlib import Path

SITECUSTOMIZE = '''
import ipaddress, os, socket

_LOG = os.environ.get("PM_NET_LOG")


def _note(line):
    if _LOG:
        with open(_LOG, "a") as handle:
            handle.write(line + "\\n")


def _loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", None)


_connect = socket.socket.connect


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _note("connect %s:%s" % (address[0], address[1]))
        if not _loopback(address[0]):
            raise OSError("network access refused in tests: %r" % (address,))
    return _connect(self, address)


_getaddrinfo = socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
    if not _loopback(host):
        _note("lookup %s" % (host,))
        raise socket.gaierror("name lookups refused in tests: %r" % (host,))
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = connect
socket.getaddrinfo = getaddrinfo
'''


def install(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return directory


def entries(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []
