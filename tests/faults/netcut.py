"""A network of a test's own between this host and a server, which the test can cut.

The kernel of the test machine may have neither netem nor iptables; network namespaces and veth
pairs are enough. :class:`Link` makes a namespace reached over a veth pair; a throwaway server
(``throwaway.py``) started in it is reached only through the pair, and a cut of the pair drops
every packet without a word, as a real network cut does (a stopped server refuses connections
instead, and a restarted one resets them).

What a cut does was checked on this kernel: with the namespace's end down, the host's end keeps
its route and drops what it sends to the namespace, and nothing comes back. Without permanent
neighbour entries a new connection would learn, from a failed ARP after a second or so, that
the host is unreachable (EHOSTUNREACH): a real cut beyond a router says nothing, so the entries
are permanent. (Blackholing the client's address inside the namespace, with reverse path
filtering on, drops both ways just as silently.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI") == "true"


def _missing(what: str) -> None:
    message = f"cannot cut a network: {what}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


class Link:
    """A network namespace of its own, reached from this host over a veth pair on a /30: a
    server started in it (:meth:`run`) listens on :attr:`host`, and clients reach it from
    :attr:`client`.

    :meth:`cut` takes the namespace's end of the pair down: whatever either side sends is
    dropped, and nothing says so (no reset, no ICMP error; the addresses' neighbour entries are
    permanent, so a client does not learn from a failed ARP that the host is unreachable
    either). :meth:`mend` brings it up again; connections that nobody gave up on go on.

    Names and addresses come from a slot (1-249) that no other link on this host holds, so
    tests in parallel never clash; :meth:`close` removes it all (namespaces of a test process
    that died first are removed by the next link made). Needs root and ``ip``.
    """

    PREFIX = "tw-cut-"

    def __init__(self) -> None:
        if os.geteuid() != 0:
            _missing("a network namespace needs root")
        if shutil.which("ip") is None:
            _missing("`ip` (iproute2) is not installed")
        self._reap()
        for slot in range(1, 250):
            self.namespace = f"{self.PREFIX}{os.getpid()}-{slot}"
            self.outside, self.inside = f"twcut{slot}h", f"twcut{slot}n"
            self.client, self.host = f"10.231.{slot}.1", f"10.231.{slot}.2"
            pair = ["link", "add", self.outside, "type", "veth", "peer", "name", self.inside]
            if self._try(["netns", "add", self.namespace]):
                # The name of the host's end is the lock on the slot.
                if self._try([*pair, "netns", self.namespace]):
                    break
                self._try(["netns", "del", self.namespace])
        else:
            raise RuntimeError("no free slot for a network namespace (10.231.1-249.0/30)")
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    def _setup(self) -> None:
        inside = ["-n", self.namespace]
        self._ip(["addr", "add", f"{self.client}/30", "dev", self.outside])
        self._ip([*inside, "addr", "add", f"{self.host}/30", "dev", self.inside])
        # The route to the namespace stays while its end is down (a host may turn this on).
        Path(f"/proc/sys/net/ipv4/conf/{self.outside}/ignore_routes_with_linkdown").write_text("0")
        self._ip(["link", "set", self.outside, "up"])
        self._ip([*inside, "link", "set", "lo", "up"])
        self._ip([*inside, "link", "set", self.inside, "up"])
        for where, address, mac, device in (
            ([], self.host, self._mac(inside, self.inside), self.outside),
            (inside, self.client, self._mac([], self.outside), self.inside),
        ):
            permanent = ["lladdr", mac, "dev", device, "nud", "permanent"]
            self._ip([*where, "neigh", "replace", address, *permanent])

    def run(self, command: list[str]) -> list[str]:
        """``command`` run in the namespace."""
        return ["ip", "netns", "exec", self.namespace, *command]

    def cut(self) -> None:
        self._ip(["-n", self.namespace, "link", "set", self.inside, "down"])

    def mend(self) -> None:
        self._ip(["-n", self.namespace, "link", "set", self.inside, "up"])

    def close(self) -> None:
        """Remove the pair and the namespace (stop the servers in it first)."""
        self._try(["link", "del", self.outside])
        self._try(["netns", "del", self.namespace])

    def _mac(self, where: list[str], device: str) -> str:
        shown = self._ip([*where, "-o", "link", "show", device])
        return shown.split("link/ether", 1)[1].split()[0]

    @staticmethod
    def _ip(args: list[str]) -> str:
        done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    @classmethod
    def _try(cls, args: list[str]) -> bool:
        try:
            cls._ip(args)
        except RuntimeError:
            return False
        return True

    @classmethod
    def _reap(cls) -> None:
        """Remove the namespaces (and their pairs) of test processes that are gone."""
        for line in cls._ip(["netns", "list"]).splitlines():
            name = line.split()[0] if line.strip() else ""
            owner = name.removeprefix(cls.PREFIX).split("-")[0]
            if name.startswith(cls.PREFIX) and owner.isdigit() and not _alive(int(owner)):
                slot = name.rsplit("-", 1)[1]
                cls._try(["link", "del", f"twcut{slot}h"])
                cls._try(["netns", "del", name])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
