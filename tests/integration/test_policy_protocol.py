"""Bad input at the protocol level: every malformed request is answered
with the malformed reply or its connection is closed, it is logged, the
daemon's memory stays bounded and it keeps serving other clients; and
attribute values cannot reach Redis keys other than their own."""
import random
import socket
import time

import pytest

from lab import rss_kb, under_asan

MALFORMED = "DEFER_IF_PERMIT 4.3.5 Malformed policy request"
UNVERIFIED = ("554 5.7.1 Message rejected: Email address is not verified. "
              "The following identities failed the check in region "
              "us-east-1: ")
SUPPRESSED = ("550 5.1.1 Address is on the suppression list (reason "
              "BOUNCE, since 2023-11-14T22:13:20Z)")
QUOTA = "454 4.7.0 Throttling failure: Daily message quota exceeded."


def request(sender="a@ok.example", recipient="r@dest.example",
            sasl="alice", eol="\n", **extra):
    attrs = {"request": "smtpd_access_policy", "protocol_state": "RCPT",
             "protocol_name": "ESMTP", "client_address": "127.0.0.1",
             "sasl_username": sasl, "sender": sender,
             "recipient": recipient}
    attrs.update(extra)
    return "".join(f"{k}={v}{eol}" for k, v in attrs.items()) + eol


class Raw:
    """A client that writes bytes as given and reads replies."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        """The next reply's action, or None when the server closed."""
        line = self.rfile.readline()
        if line == b"":
            return None
        blank = self.rfile.readline()
        assert blank == b"\n", f"reply not ended by an empty line: {blank!r}"
        assert line.startswith(b"action="), f"bad reply line {line!r}"
        return line[len(b"action="):].rstrip(b"\n").decode()

    def closed(self):
        """True when the server closed the connection without replying."""
        try:
            return self.rfile.read() == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.rfile.close()
        self.sock.close()


def wait_log(p, text, count=1, timeout=5.0):
    """The daemon's log once it holds text count times (logging follows
    the reply, so give it a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        log = p.logtext()
        if log.count(text) >= count or time.monotonic() > deadline:
            return log
        time.sleep(0.05)


def still_serves(p):
    """A normal request on a new connection gets the right answer."""
    c = Raw(p.port)
    try:
        c.send(request(sender="a@ok.example"))
        assert c.reply() == "DUNNO"
        c.send(request(sender="x@unknown.example"))
        assert c.reply() == UNVERIFIED + "x@unknown.example"
    finally:
        c.close()
    assert p.proc.poll() is None


@pytest.fixture
def pd(redis_server, policyd_factory):
    redis_server.cli("SADD", "sesgate:identities", "ok.example")
    return policyd_factory(policyd={"account_max_rate": "unlimited"})


def test_line_without_equals_is_malformed(pd):
    c = Raw(pd.port)
    c.send("request=smtpd_access_policy\nprotocol_state RCPT\n\n")
    assert c.reply() == MALFORMED
    # The connection stays usable.
    c.send(request())
    assert c.reply() == "DUNNO"
    c.close()
    log = wait_log(pd, "line 2: no '=' in attribute line")
    assert ("malformed request: line 2: no '=' in attribute line; "
            "answering " + MALFORMED) in log
    still_serves(pd)


def test_empty_attribute_name_and_empty_request(pd):
    c = Raw(pd.port)
    c.send("=value\nrequest=smtpd_access_policy\n\n")
    assert c.reply() == MALFORMED
    c.send("\n")
    assert c.reply() == MALFORMED
    c.close()
    log = wait_log(pd, "empty request")
    assert "line 1: empty attribute name" in log
    assert "malformed request: empty request" in log
    still_serves(pd)


def test_100k_value_closes_the_connection(pd):
    c = Raw(pd.port)
    c.send(request(sender="a@ok.example", ccert_subject="x" * 100_000))
    assert c.closed()
    c.close()
    log = wait_log(pd, "request longer than 65536 bytes")
    assert "request longer than 65536 bytes; closing the connection" in log
    still_serves(pd)


def test_ten_thousand_attributes(pd):
    c = Raw(pd.port)
    # 10,000 short lines (30 KB) fit in the size limit: refused by count.
    c.send("request=smtpd_access_policy\n" + "a=\n" * 10_000 + "\n")
    assert c.reply() == MALFORMED
    c.close()
    assert "malformed request: more than 256 attributes" in \
        wait_log(pd, "more than 256 attributes")
    # Longer lines pass the size limit first: the connection is closed.
    c = Raw(pd.port)
    c.send("".join(f"attribute_{i:05}=value\n" for i in range(10_000))
           + "\n")
    assert c.closed()
    c.close()
    still_serves(pd)


def test_nul_byte_is_malformed(pd):
    c = Raw(pd.port)
    c.send(request(sender="a\0b@ok.example"))
    assert c.reply() == MALFORMED
    c.send(b"\0\0\0\n\n")
    assert c.reply() == MALFORMED
    c.close()
    log = wait_log(pd, "control byte 0x00", count=2)
    assert log.count("control byte 0x00") == 2
    still_serves(pd)


def test_unterminated_request_then_close(pd):
    c = Raw(pd.port)
    part = "request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a@ok"
    c.send(part)
    c.close()
    log = wait_log(pd, "closed the connection inside a request")
    assert (f"closed the connection inside a request ({len(part)} bytes "
            "unanswered)") in log
    still_serves(pd)


def test_garbage_binary(pd):
    """Random bytes (never '=', so no line can be an attribute) followed
    by a real request: every piece of garbage is answered as malformed, in
    order, and then the real request is answered."""
    rnd = random.Random(4711)
    junk = bytes(b for b in rnd.randbytes(8192) if b != ord("="))
    c = Raw(pd.port)
    c.send(junk + b"\n\n" + request(sender="g@unknown.example").encode())
    replies = []
    while True:
        r = c.reply()
        assert r is not None, "connection closed before the real request"
        if r.startswith("554"):
            break
        replies.append(r)
    assert r == UNVERIFIED + "g@unknown.example"
    assert replies and set(replies) == {MALFORMED}
    c.close()
    log = wait_log(pd, "malformed request", count=len(replies))
    assert log.count("malformed request") == len(replies)
    still_serves(pd)


def test_crlf_line_endings(pd):
    c = Raw(pd.port)
    c.send(request(sender="crlf@unknown.example", eol="\r\n"))
    # The CR is not part of the value: the address is reported clean.
    assert c.reply() == UNVERIFIED + "crlf@unknown.example"
    c.send(request(sender="a@ok.example", eol="\r\n"))
    assert c.reply() == "DUNNO"
    c.close()


def test_pipelined_requests_answered_in_order(pd):
    c = Raw(pd.port)
    senders = ["p0@unknown.example", "a@ok.example", "p2@unknown.example",
               "bad", "a@ok.example", "p5@unknown.example"]
    data = "".join(request(sender=s) for s in senders)
    # A malformed one in the middle keeps its place too.
    data = data.replace(request(sender="bad"), "no equals sign\n\n")
    c.send(data)
    want = [UNVERIFIED + "p0@unknown.example", "DUNNO",
            UNVERIFIED + "p2@unknown.example", MALFORMED, "DUNNO",
            UNVERIFIED + "p5@unknown.example"]
    assert [c.reply() for _ in senders] == want
    c.close()


def test_many_pipelined_requests(pd):
    """More requests in one write than the daemon keeps in flight."""
    c = Raw(pd.port)
    n = 300
    c.send("".join(request(sender=f"m{i}@unknown.example")
                   for i in range(n)))
    got = [c.reply() for _ in range(n)]
    assert got == [UNVERIFIED + f"m{i}@unknown.example" for i in range(n)]
    c.close()


def test_request_in_one_byte_writes(pd):
    c = Raw(pd.port)
    for b in request(sender="slow@unknown.example").encode():
        c.send(bytes([b]))
    assert c.reply() == UNVERIFIED + "slow@unknown.example"
    c.close()


def test_memory_bounded_after_bad_connections(pd):
    pid = pd.proc.pid
    big = request(ccert_subject="x" * 100_000).encode()
    many = ("request=smtpd_access_policy\n" + "a=\n" * 10_000
            + "\n").encode()
    before = rss_kb(pid)
    for i in range(50):
        c = Raw(pd.port)
        kind = i % 5
        if kind == 0:
            c.send(big)
            assert c.closed()
        elif kind == 1:
            c.send(many)
            assert c.reply() == MALFORMED
        elif kind == 2:
            c.send(b"\0" * 60_000 + b"\n\n")
            assert c.reply() == MALFORMED
        elif kind == 3:
            c.send(b"x" * 60_000)     # unterminated, then close
        else:
            c.send(random.Random(i).randbytes(30_000).replace(b"=", b"")
                   + b"\n\n")
            # Some pieces are answered; nothing else is asked of it.
        c.close()
    still_serves(pd)
    if under_asan(pid):
        return
    after = rss_kb(pid)
    assert after < 30 * 1024, f"VmRSS {after} kB after 50 bad connections"
    assert after - before < 16 * 1024, f"VmRSS grew {before} -> {after} kB"


# --- attribute values and Redis keys -------------------------------------

def keys(redis_server):
    return set(redis_server.client().keys("*"))


def level_keys(prefix, sasl, domain):
    """The window state a counted recipient leaves at each level."""
    return {f"{prefix}usage:account", f"{prefix}usage:sender:{sasl}",
            f"{prefix}usage:domain:{domain}"}


def test_glob_characters_in_identities(redis_server, policyd_factory):
    r = redis_server.client()
    r.sadd("sesgate:identities", "ab@x.example")
    p = policyd_factory(policyd={"account_max_rate": "unlimited"})
    c = Raw(p.port)
    c.send(request(sender="a*@x.example"))
    assert c.reply() == UNVERIFIED + "a*@x.example"
    c.send(request(sender="a?@x.example"))
    assert c.reply() == UNVERIFIED + "a?@x.example"
    r.srem("sesgate:identities", "ab@x.example")
    r.sadd("sesgate:identities", "a*@x.example", "[a-z]@y.example")
    c.send(request(sender="ab@x.example"))
    assert c.reply() == UNVERIFIED + "ab@x.example"
    c.send(request(sender="a@y.example"))
    assert c.reply() == UNVERIFIED + "a@y.example"
    c.send(request(sender="a*@x.example"))
    assert c.reply() == "DUNNO"
    c.close()


def test_quoted_local_part_suppression_is_that_address_only(
        redis_server, policyd_factory):
    r = redis_server.client()
    r.sadd("sesgate:identities", "ok.example")
    r.hset('sesgate:suppression:"x y"@d.example',
           mapping={"reason": "BOUNCE", "time": "1700000000"})
    p = policyd_factory(policyd={"account_max_rate": "unlimited"})
    c = Raw(p.port)
    c.send(request(recipient='"x y"@d.example'))
    assert c.reply() == SUPPRESSED
    c.send(request(recipient='<"X Y"@D.example>'))
    assert c.reply() == SUPPRESSED
    for other in ("x@d.example", "y@d.example", "x y@d.example",
                  '"x*"@d.example', '"x y"@d.example.other', "*@d.example"):
        c.send(request(recipient=other))
        assert c.reply() == "DUNNO", other
    c.close()
    assert r.hgetall('sesgate:suppression:"x y"@d.example') == {
        "reason": "BOUNCE", "time": "1700000000"}


def test_sasl_user_with_colons_gets_its_own_keys(redis_server,
                                                 policyd_factory,
                                                 policy_usage):
    r = redis_server.client()
    r.sadd("sesgate:identities", "ok.example")
    # A domain pause and a domain quota of evil.example must not touch a
    # SASL user whose name looks like that key's tail.
    r.set("sesgate:pause:domain:evil.example", "evil paused")
    r.hset("sesgate:limits:domain:evil.example", "max_24h", "0")
    p = policyd_factory(policyd={"account_max_rate": "unlimited"})
    c = Raw(p.port)
    sasl = "bob:domain:evil.example"
    c.send(request(sasl=sasl, sender="a@ok.example"))
    assert c.reply() == "DUNNO"
    c.send(request(sasl="bob", sender="a@ok.example",
                   recipient="r2@dest.example"))
    assert c.reply() == "DUNNO"
    c.close()
    want = {"sesgate:identities", "sesgate:pause:domain:evil.example",
            "sesgate:limits:domain:evil.example", "sesgate:stats"}
    want |= level_keys("sesgate:", sasl, "ok.example")
    want |= level_keys("sesgate:", "bob", "ok.example")
    assert keys(redis_server) == want
    assert policy_usage("sender", sasl) == 1
    assert policy_usage("sender", "bob") == 1
    assert policy_usage("domain", "ok.example") == 2
    assert policy_usage("domain", "evil.example") == 0
    # A quota for that SASL user is its own too.
    r.hset(f"sesgate:limits:sender:{sasl}", "max_24h", "1")
    c = Raw(p.port)
    c.send(request(sasl=sasl, recipient="r3@dest.example"))
    assert c.reply() == QUOTA
    c.send(request(sasl="bob", recipient="r3@dest.example"))
    assert c.reply() == "DUNNO"
    c.close()


@pytest.mark.parametrize("sasl", ["bob smith", 'b"o\'b', "*", "bob\tx",
                                  "sesgate:usage:account", "a b:c*d?[e]"])
def test_odd_sasl_user_names_stay_in_their_key(redis_server, policyd_factory,
                                               policy_usage, sasl):
    r = redis_server.client()
    r.sadd("sesgate:identities", "ok.example")
    p = policyd_factory(policyd={"account_max_rate": "unlimited"})
    c = Raw(p.port)
    c.send(request(sasl=sasl))
    assert c.reply() == "DUNNO"
    c.close()
    want = {"sesgate:identities", "sesgate:stats"}
    want |= level_keys("sesgate:", sasl, "ok.example")
    assert keys(redis_server) == want
    assert policy_usage("sender", sasl) == 1
    assert policy_usage("account") == 1


def test_newline_in_a_value_splits_into_a_bad_line(redis_server,
                                                   policyd_factory):
    """A newline cannot be inside a value: what follows it is a line of
    its own, an attribute if it holds '=', else a malformed request."""
    r = redis_server.client()
    r.sadd("sesgate:identities", "ok.example")
    p = policyd_factory(policyd={"account_max_rate": "unlimited"})
    c = Raw(p.port)
    c.send(request(sasl="bob\nevil"))
    assert c.reply() == MALFORMED
    # The later "sasl_username" line wins over the one before it: still
    # one SASL user per request, and no key holds a newline.
    c.send(request(sasl="bob\nsasl_username=eve"))
    assert c.reply() == "DUNNO"
    c.close()
    assert "line 6: no '=' in attribute line" in \
        wait_log(p, "no '=' in attribute line")
    got = keys(redis_server)
    assert not any("\n" in k for k in got)
    assert "sesgate:usage:sender:eve" in got
    assert not any(k.startswith("sesgate:usage:sender:bob") for k in got)


def test_unix_socket_speaks_the_same(pd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(pd.socket)
    rfile = s.makefile("rb")
    s.sendall((request(sender="u@unknown.example") + "junk\n\n"
               + request()).encode())
    got = []
    for _ in range(3):
        got.append(rfile.readline().decode())
        assert rfile.readline() == b"\n"
    rfile.close()
    s.close()
    assert got == [f"action={UNVERIFIED}u@unknown.example\n",
                   f"action={MALFORMED}\n", "action=DUNNO\n"]
    assert "client=unix malformed request: line 1: no '='" in \
        wait_log(pd, "client=unix malformed request")


TOO_MANY = "452 4.5.3 Too many recipients"


def test_pipelined_recipients_of_one_message_counted_exactly(redis_server,
                                                             policyd_factory):
    """A message's recipients are counted per connection: sent in one
    write, the third of a two-recipient message is refused, a recipient
    refused for another reason takes no place, and a new instance starts
    again from zero."""
    redis_server.cli("SADD", "sesgate:identities", "ok.example")
    redis_server.cli("HSET", "sesgate:suppression:gone@dest.example",
                     "reason", "BOUNCE", "time", "1700000000")
    p = policyd_factory(policyd={"max_recipients": "2",
                                 "account_max_rate": "unlimited"})
    c = Raw(p.port)
    rcpts = ["r1@dest.example", "gone@dest.example", "r2@dest.example",
             "r3@dest.example", "r4@dest.example"]
    data = "".join(request(recipient=r, instance="M1") for r in rcpts)
    data += request(recipient="r5@dest.example", instance="M2")
    data += request(recipient="r6@dest.example")    # no instance
    c.send(data)
    got = [c.reply() for _ in range(len(rcpts) + 2)]
    assert got == ["DUNNO", SUPPRESSED, "DUNNO", TOO_MANY, TOO_MANY,
                   "DUNNO", "DUNNO"]
    c.close()
    # The count is the connection's: a new connection starts anew, and
    # nothing about messages is kept in Redis.
    c = Raw(p.port)
    c.send(request(recipient="r7@dest.example", instance="M1"))
    assert c.reply() == "DUNNO"
    c.close()
    assert redis_server.cli("--scan", "--pattern", "sesgate:msg*") == ""
    stats = redis_server.client().hgetall("sesgate:stats")
    assert stats == {"policyd:accept": "5", "policyd:suppressed": "1",
                     "policyd:too_many_recipients": "2"}


def test_wrong_type_key_fails_only_its_recipient(redis_server,
                                                 policyd_factory):
    """A key of the wrong type (written by hand) makes its recipient get
    on_store_error with a log line; recipients decided in the same script
    run, before and after it, are answered normally and counted."""
    redis_server.cli("SADD", "sesgate:identities", "ok.example")
    redis_server.cli("SET", "sesgate:suppression:odd@dest.example", "x")
    redis_server.cli("HSET", "sesgate:suppression:gone@dest.example",
                     "reason", "BOUNCE", "time", "1700000000")
    p = policyd_factory(policyd={"account_max_rate": "unlimited"})
    clients = [Raw(p.port) for _ in range(3)]
    rcpts = ["a1@dest.example", "odd@dest.example", "gone@dest.example"]
    # Three connections writing at once: most often one script run.
    for c, r in zip(clients, rcpts):
        c.send(request(recipient=r))
    got = [c.reply() for c in clients]
    assert got == ["DUNNO", "DEFER_IF_PERMIT 4.3.0 Sending limits cannot "
                   "be checked now; try again later", SUPPRESSED]
    log = wait_log(p, "WRONGTYPE")
    assert "policyd: redis: script error: WRONGTYPE" in log
    for c in clients:
        c.close()
    stats = redis_server.client().hgetall("sesgate:stats")
    assert stats == {"policyd:accept": "1", "policyd:suppressed": "1"}
    still_serves(p)
