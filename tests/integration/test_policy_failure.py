"""sesgate-policyd when Redis goes away, stalls or comes back, and when it
is reloaded or stopped: every request is answered, with the configured
on_store_error action while Redis cannot decide, and nothing that should
be refused is accepted once it can."""
import os
import signal
import socket
import threading
import time

import pytest

from lab import wait_for

DEFER_IF_PERMIT = ("DEFER_IF_PERMIT 4.3.0 Sending limits cannot be checked "
                   "now; try again later")
DEFER = "DEFER 4.3.0 Sending limits cannot be checked now; try again later"
QUOTA = "454 4.7.0 Throttling failure: Daily message quota exceeded."
SUPPRESSED = ("550 5.1.1 Address is on the suppression list (reason "
              "BOUNCE, since 2023-11-14T22:13:20Z)")
UNLIMITED = {"account_max_rate": "unlimited"}


def ask(client, sender="a@ok.example", recipient="r@dest.example", **kw):
    return client.ask(sasl_username="alice", sender=sender,
                      recipient=recipient, **kw)


def count_lines(p, text):
    return sum(1 for line in p.logtext().splitlines() if text in line)


def answered_normally(p, timeout=15.0):
    """Polls with requests until Redis decides again; returns the replies
    seen meanwhile (all of them store-error answers or the real one)."""
    seen = []
    deadline = time.monotonic() + timeout
    c = p.connect()
    try:
        while time.monotonic() < deadline:
            a = ask(c, recipient=f"poll{len(seen)}@dest.example")
            seen.append(a)
            if a == "DUNNO" or not a.startswith(("DEFER", "DUNNO")):
                break
            time.sleep(0.1)
    finally:
        c.close()
    return seen


def refill(redis_server):
    """A restarted Redis comes back empty (no persistence in the tests)."""
    r = redis_server.client()
    r.sadd("sesgate:identities", "ok.example")
    r.hset("sesgate:suppression:gone@dest.example",
           mapping={"reason": "BOUNCE", "time": "1700000000",
                    "source": "feedback"})


@pytest.mark.parametrize("action,reply", [(None, DEFER_IF_PERMIT),
                                          ("defer", DEFER),
                                          ("dunno", "DUNNO")])
def test_redis_stopped_and_restarted(redis_server, policyd_factory, action,
                                     reply):
    refill(redis_server)
    pol = dict(UNLIMITED)
    if action is not None:
        pol["on_store_error"] = action
    p = policyd_factory(policyd=pol, redis={"timeout": "250ms"})
    c = p.connect()
    assert ask(c) == "DUNNO"
    assert ask(c, recipient="gone@dest.example") == SUPPRESSED

    for outage in (1, 2):
        redis_server.stop()
        start = time.monotonic()
        replies = [ask(c, recipient=f"o{outage}-{i}@dest.example")
                   for i in range(10)]
        # Suppressed or not, Redis cannot tell: the configured action.
        replies.append(ask(c, recipient="gone@dest.example"))
        # New connections are served the same way.
        for i in range(5):
            c2 = p.connect()
            replies.append(ask(c2, recipient=f"n{outage}-{i}@dest.example"))
            c2.close()
        assert time.monotonic() - start < 5.0
        assert replies == [reply] * 16
        assert p.proc.poll() is None
        assert wait_for(lambda: count_lines(p, "unavailable:") == outage, 2)
        assert count_lines(p, "unavailable:") == outage
        name = action or "defer_if_permit"
        assert count_lines(p, f"answering requests with on_store_error = "
                           f"{name} until it is back") == outage

        redis_server.start()
        refill(redis_server)
        seen = answered_normally(p)
        assert seen[-1] == "DUNNO", seen
        assert set(seen[:-1]) <= {reply}, seen
        assert wait_for(lambda: count_lines(p, "reachable again") == outage,
                        2)
        # The connection that lived through the outage is served again,
        # and a suppressed recipient is refused.
        assert ask(c, recipient="gone@dest.example") == SUPPRESSED
        assert ask(c, sender="x@unknown.example").startswith("554 5.7.1 ")
        assert ask(c, recipient="back@dest.example") == "DUNNO"
    c.close()
    assert count_lines(p, "unavailable:") == 2


def test_redis_stopped_under_traffic(redis_server, policyd_factory):
    """Requests keep flowing from two clients while Redis stops: every
    one is answered, first by Redis, then with the store-error action."""
    refill(redis_server)
    p = policyd_factory(policyd=UNLIMITED, redis={"timeout": "250ms"})
    results = {0: [], 1: []}
    stop = threading.Event()

    def traffic(k):
        c = p.connect()
        try:
            for i in range(2000):
                if stop.is_set():
                    break
                results[k].append(ask(c, recipient=f"t{k}-{i}@dest.example"))
        finally:
            c.close()

    threads = [threading.Thread(target=traffic, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    assert wait_for(lambda: min(len(results[0]), len(results[1])) >= 20, 5)
    redis_server.stop()
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(timeout=20)
        assert not t.is_alive()
    for k in (0, 1):
        r = results[k]
        assert r, f"client {k} got no reply"
        assert set(r) <= {"DUNNO", DEFER_IF_PERMIT}
        # Accepted while Redis was up, deferred once it was down: never
        # accepted again after the first deferral.
        first = r.index(DEFER_IF_PERMIT)
        assert all(a == DEFER_IF_PERMIT for a in r[first:])
        assert first >= 20
    assert p.proc.poll() is None
    assert count_lines(p, "unavailable:") == 1


class SilentServer:
    """Accepts TCP connections and reads, but never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done.is_set():
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                for s in list(self.conns):
                    s.setblocking(False)
                    try:
                        s.recv(65536)
                    except (BlockingIOError, OSError):
                        pass
                continue
            self.accepted += 1
            self.conns.append(s)

    def close(self):
        self.done.set()
        self.thread.join(timeout=5)
        for s in self.conns:
            s.close()
        self.sock.close()


def test_redis_that_never_answers(redis_server, policyd_factory):
    silent = SilentServer()
    try:
        p = policyd_factory(redis_url=f"redis://127.0.0.1:{silent.port}/0",
                            policyd=UNLIMITED, redis={"timeout": "250ms"})
        c = p.connect()
        start = time.monotonic()
        replies = [ask(c, recipient=f"s{i}@dest.example") for i in range(8)]
        assert time.monotonic() - start < 5.0
        assert replies == [DEFER_IF_PERMIT] * 8
        c.close()
        assert p.proc.poll() is None
        assert wait_for(lambda: count_lines(p, "unavailable:") >= 1, 2)
        # One outage: the silent server keeps accepting, so the daemon
        # keeps trying, but says so once.
        assert count_lines(p, "unavailable:") == 1
        assert "no reply within the timeout" in p.logtext() or \
            "connect timeout" in p.logtext()
        assert silent.accepted >= 1
    finally:
        silent.close()


def test_redis_paused_past_the_timeout(redis_server, policyd_factory):
    """A Redis that stalls (CLIENT PAUSE) longer than the timeout: the
    request is answered with the store-error action, and once Redis is
    back requests are decided again."""
    refill(redis_server)
    p = policyd_factory(policyd=UNLIMITED, redis={"timeout": "250ms"})
    c = p.connect()
    assert ask(c) == "DUNNO"
    redis_server.cli("CLIENT", "PAUSE", "1500", "ALL")
    start = time.monotonic()
    assert ask(c, recipient="gone@dest.example") == DEFER_IF_PERMIT
    assert time.monotonic() - start < 5.0
    c.close()
    assert wait_for(lambda: "no reply within the timeout" in p.logtext(), 2)
    seen = answered_normally(p)
    assert seen[-1] == "DUNNO" and set(seen[:-1]) <= {DEFER_IF_PERMIT}
    c = p.connect()
    assert ask(c, recipient="gone@dest.example") == SUPPRESSED
    c.close()
    assert p.proc.poll() is None


def rewrite_conf(p, key, value):
    with open(p.conf) as f:
        lines = f.read().split("\n")
    out, found = [], None
    for i, line in enumerate(lines):
        if line.startswith(f"{key} ="):
            line, found = f"{key} = {value}", i + 1
        out.append(line)
    assert found, key
    with open(p.conf, "w") as f:
        f.write("\n".join(out))
    return found


def test_sighup_reload(redis_server, policyd_factory):
    refill(redis_server)
    p = policyd_factory(policyd={"account_max_24h": "2",
                                 "account_max_rate": "unlimited"})
    c = p.connect()
    assert [ask(c, recipient=f"a{i}@dest.example") for i in range(3)] == \
        ["DUNNO", "DUNNO", QUOTA]

    rewrite_conf(p, "account_max_24h", "4")
    os.kill(p.proc.pid, signal.SIGHUP)
    assert wait_for(lambda: count_lines(p, "configuration reloaded from") == 1,
                    5)
    # Same connection, new limit: two more, then refused.
    assert [ask(c, recipient=f"b{i}@dest.example") for i in range(3)] == \
        ["DUNNO", "DUNNO", QUOTA]

    lineno = rewrite_conf(p, "account_max_24h", "lots")
    os.kill(p.proc.pid, signal.SIGHUP)
    assert wait_for(lambda: "reload: configuration errors" in p.logtext(),
                    5)
    log = p.logtext()
    lines = [line.split(": ", 1)[1] for line in log.splitlines()]
    # The problem on a line of its own (syslog would show a newline
    # inside a line as #012).
    assert "error: policyd: reload: configuration errors; keeping the " \
        "running one" in lines
    assert (f'error: policyd: reload: {p.conf}:{lineno}: [policyd] '
            f'account_max_24h: bad value "lots": want a whole number >= 0 '
            'or "unlimited"') in lines
    assert count_lines(p, "configuration reloaded from") == 1
    assert p.proc.poll() is None
    # Still 4, not the default 50,000.
    assert ask(c, recipient="c0@dest.example") == QUOTA
    c2 = p.connect()
    assert ask(c2, recipient="c1@dest.example") == QUOTA
    c2.close()

    rewrite_conf(p, "account_max_24h", "5")
    os.kill(p.proc.pid, signal.SIGHUP)
    assert wait_for(lambda: count_lines(p, "configuration reloaded from") == 2,
                    5)
    assert [ask(c, recipient=f"d{i}@dest.example") for i in range(2)] == \
        ["DUNNO", QUOTA]
    c.close()


def test_sigterm_answers_the_request_in_flight(redis_server, policyd_factory):
    refill(redis_server)
    p = policyd_factory(policyd=UNLIMITED, redis={"timeout": "5s"})
    c = p.connect()
    assert ask(c) == "DUNNO"
    redis_server.cli("CLIENT", "PAUSE", "1500", "ALL")
    c.sock.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
                   b"client_address=127.0.0.1\nsasl_username=alice\n"
                   b"sender=a@ok.example\nrecipient=gone@dest.example\n\n")
    time.sleep(0.3)
    # Not answered yet: Redis is paused.
    c.sock.setblocking(False)
    with pytest.raises(BlockingIOError):
        c.sock.recv(1, socket.MSG_PEEK)
    c.sock.setblocking(True)
    c.sock.settimeout(10)
    os.kill(p.proc.pid, signal.SIGTERM)
    # The request is decided by Redis once it resumes, then the
    # connection is closed and the process exits 0.
    assert c.read_reply() == SUPPRESSED
    assert c.rfile.read() == b""
    c.close()
    assert p.proc.wait(timeout=10) == 0
    log = p.logtext()
    assert "signal 15: finishing 1 connections and exiting" in log
    assert "policyd: stopped" in log
    # The listeners are gone.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", p.port), timeout=1).close()
    assert not os.path.exists(p.socket)
