"""What each daemon tells systemd (Type=notify), read from the datagram
socket NOTIFY_SOCKET names, as systemd reads it: READY=1 once it
listens, RELOADING=1 then READY=1 around a reload, STOPPING=1 when it
stops. And the units in contrib/systemd pass systemd-analyze verify."""
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from feedback import FeedbackD, SnsSigner
from lab import BUILD, TOP, MilterD, PolicyD, stop_pid

READY = "READY=1\nSTATUS=serving"


@pytest.fixture
def notify(tmp_path, monkeypatch):
    """The socket the daemons started from here notify."""
    path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    yield s
    s.close()


def recv(s):
    return s.recv(4096).decode()


def start(kind, tmp_path, redis_server):
    if kind == "policyd":
        return PolicyD(tmp_path / "p", redis_server.url), signal.SIGHUP
    if kind == "milter":
        return MilterD(tmp_path / "m", redis_server.url), signal.SIGUSR1
    signer = SnsSigner(tmp_path / "certs")
    return FeedbackD(tmp_path / "f", redis_server.url,
                     signer.dir), signal.SIGHUP


@pytest.mark.parametrize("kind", ["policyd", "milter", "feedbackd"])
def test_ready_reloading_stopping(kind, tmp_path, redis_server, notify):
    d, reload_sig = start(kind, tmp_path, redis_server)
    try:
        # Sent once the listener is open: the port answered before
        # start() returned, and READY=1 is there.
        assert recv(notify) == READY
        d.proc.send_signal(reload_sig)
        got = recv(notify)
        assert re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=\d+", got), got
        assert recv(notify) == READY
    finally:
        d.stop()
    assert recv(notify) == "STOPPING=1"
    assert d.proc.returncode == 0


def test_nothing_sent_without_systemd(tmp_path, redis_server, monkeypatch):
    """Started by hand (no NOTIFY_SOCKET), a daemon runs as before."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    d = PolicyD(tmp_path / "p", redis_server.url)
    d.stop()
    assert d.proc.returncode == 0


UNITS = sorted(glob.glob(os.path.join(TOP, "contrib", "systemd",
                                      "*.service")))


def test_units_verify(tmp_path):
    """systemd-analyze verify, with ExecStart pointing at the programs
    as built (verify wants them to exist)."""
    assert [os.path.basename(u) for u in UNITS] == [
        "sesgate-feedbackd.service", "sesgate-milter.service",
        "sesgate-policyd.service"]
    for unit in UNITS:
        with open(unit) as f:
            text = f.read()
        assert "Type=notify\n" in text
        text = text.replace("@SBINDIR@", BUILD).replace(
            "@SYSCONFDIR@", "/etc")
        copy = tmp_path / os.path.basename(unit)
        copy.write_text(text)
        r = subprocess.run([shutil.which("systemd-analyze"), "verify",
                            "--man=no", str(copy)], capture_output=True,
                           text=True, timeout=60)
        # Only lines about this unit count: the host's own units may
        # draw warnings of their own.
        mine = [line for line in r.stderr.splitlines()
                if os.path.basename(unit) in line]
        assert (r.returncode, mine) == (0, []), r.stderr


@pytest.mark.parametrize("kind", ["policyd", "milter", "feedbackd"])
def test_stop_as_soon_as_it_listens(kind, tmp_path, redis_server,
                                    monkeypatch):
    """SIGTERM sent the moment the port first answers (a unit's stop may
    come right after its start): an orderly stop each time, exit 0."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    d, _ = start(kind, tmp_path, redis_server)
    d.stop()
    for _ in range(20):
        with open(d.log, "a") as logf:
            p = subprocess.Popen([d.prog, "-f", "-c", d.conf],
                                 stdout=logf, stderr=logf)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", d.port),
                                             timeout=1).close()
                    break
                except OSError:
                    assert p.poll() is None, d.logtext()
                    assert time.monotonic() < deadline, d.logtext()
            p.send_signal(signal.SIGTERM)
            assert p.wait(timeout=10) == 0, d.logtext()
        finally:
            stop_pid(p)
