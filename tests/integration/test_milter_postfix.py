"""sesgate-milter behind a real Postfix (smtpd_milters), relaying to a
local SMTP sink: what the sink receives is signed and the signature holds
under an independent verifier (dkimpy) against keys in a loopback DNS
server; what the milter refuses reaches the SMTP client with the
milter's exact reply. Submissions authenticate (SASL), so they are
outbound.
"""
import smtplib
import socket
import time
import uuid

import pytest

import dkimcheck
from dnsserver import DnsServer
from lab import MilterD, free_port
from postfix import TEST_HEADER, Postfix, SmtpSink

DOMAIN = "signed.example"
LOGIN = ("alice", "alice-secret")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    return {"rsa": dkimcheck.make_key(d, "rsa", 2048, "rsa"),
            "ed": dkimcheck.make_key(d, "ed25519", name="ed")}


@pytest.fixture(scope="module")
def dns(tmp_path_factory, keys):
    srv = DnsServer(tmp_path_factory.mktemp("dns")).start()
    srv.add_zone(DOMAIN, [keys["rsa"].record("rsa1"),
                          keys["ed"].record("ed1")])
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, keys):
    """Postfix and the sink, and one sesgate-milter for the module (it
    is reconfigured per test by a reload)."""
    sink = SmtpSink()
    port = free_port()
    pf = milter = None
    try:
        milter = MilterD(tmp_path_factory.mktemp("milter"),
                         "redis://127.0.0.1:1/0", port=port,
                         milter={"dkim_key": f"{DOMAIN} rsa1 "
                                 f"{keys['rsa'].path}"})
        pf = Postfix(sink, policy_port=None, smtpd_port=free_port(),
                     sasl_users={"alice": "alice-secret"},
                     milter_port=port)
        pf.start()
        yield pf, sink, milter
    finally:
        if pf is not None:
            pf.stop()
        if milter is not None:
            milter.stop()
        sink.close()


@pytest.fixture
def mta(stack, redis_server, keys):
    """configure(**[milter] keys) reloads the milter with this test's
    Redis (signed.example verified) and returns (postfix, sink)."""
    pf, sink, milter = stack
    redis_server.cli("SADD", "sesgate:identities", DOMAIN)

    def configure(**conf):
        c = {"listen": milter.spec,
             "dkim_key": [f"{DOMAIN} rsa1 {keys['rsa'].path}",
                          f"{DOMAIN} ed1 {keys['ed'].path}"]}
        c.update(conf)
        milter.sections["milter"] = c
        milter.sections["redis"]["url"] = redis_server.url
        milter.rewrite()
        milter.reload()
        return pf, sink
    return configure


def message(token, frm=f"Alice <alice@{DOMAIN}>", body=b"Hello.\r\n",
            extra=b""):
    return (f"From: {frm}\r\nTo: bob@dest.example\r\nSubject: test\r\n"
            f"{TEST_HEADER}: {token}\r\n").encode() + extra + b"\r\n" + body


def submit(pf, msg, sender=f"alice@{DOMAIN}"):
    """AUTH, MAIL, RCPT, DATA: the reply to DATA as "CODE TEXT"."""
    with smtplib.SMTP("127.0.0.1", pf.port, timeout=60) as s:
        s.ehlo("client.sesgate.test")
        s.login(*LOGIN)
        s.mail(sender)
        s.rcpt("bob@dest.example")
        code, text = s.data(msg)
    return f"{code} {text.decode()}"


def delivered(sink, token, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = sink.received(token)
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"message {token} not delivered")


def results(dns, data):
    return [f"d={s.d} s={s.s} a={s.a} {s.result}"
            + (f" {s.reason}" if s.reason else "")
            for s in dkimcheck.verify(data, dns.nameserver())]


def test_signed_message_verifies_at_the_sink(mta, dns):
    pf, sink = mta()
    token = uuid.uuid4().hex
    assert submit(pf, message(token)).startswith("250 ")
    (d,) = delivered(sink, token)
    assert results(dns, d.data) == [f"d={DOMAIN} s=rsa1 a=rsa-sha256 pass"]
    assert d.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; "
                             b"c=relaxed/relaxed; d=signed.example;")


@pytest.mark.parametrize("canon", ["relaxed/relaxed", "simple/simple"])
def test_folded_fields_are_signed_as_sent(mta, dns, canon):
    """Postfix hands folded field values over with bare LF; the signature
    must cover them as the CRLF folding that goes out."""
    pf, sink = mta(canonicalization=canon)
    token = uuid.uuid4().hex
    extra = (b"Cc: carol@dest.example,\r\n\tdave@dest.example,\r\n"
             b"  erin@dest.example\r\n"
             b"Reply-To: <alice@signed.example>\r\n")
    assert submit(pf, message(token, extra=extra)).startswith("250 ")
    (d,) = delivered(sink, token)
    assert b"\r\n\tdave@dest.example," in d.data
    assert results(dns, d.data) == [f"d={DOMAIN} s=rsa1 a=rsa-sha256 pass"]


def test_dual_signed_message_verifies_twice(mta, dns):
    pf, sink = mta(dual_sign="yes", canonicalization="simple/simple")
    token = uuid.uuid4().hex
    assert submit(pf, message(token)).startswith("250 ")
    (d,) = delivered(sink, token)
    assert sorted(results(dns, d.data)) == [
        f"d={DOMAIN} s=ed1 a=ed25519-sha256 pass",
        f"d={DOMAIN} s=rsa1 a=rsa-sha256 pass"]


def test_large_message_signed(mta, dns):
    pf, sink = mta()
    token = uuid.uuid4().hex
    line = b"0123456789abcdef" * 4 + b"\r\n"
    body = line * (int(9.9 * 1024 * 1024) // len(line))
    assert submit(pf, message(token, body=body)).startswith("250 ")
    (d,) = delivered(sink, token, timeout=60)
    assert len(d.data) > 9.9 * 1024 * 1024
    assert results(dns, d.data) == [f"d={DOMAIN} s=rsa1 a=rsa-sha256 pass"]


def test_bare_lf_submission_signed(mta, dns):
    """Lines ended by LF alone, as a careless client sends them; Postfix
    hands the milter CRLF and the signature covers what is delivered."""
    pf, sink = mta()
    token = uuid.uuid4().hex
    msg = message(token, body=b"one\ntwo\n\nthree\n").replace(b"\r\n",
                                                             b"\n")
    with socket.create_connection(("127.0.0.1", pf.port), timeout=30) as s:
        f = s.makefile("rb")
        f.readline()
        import base64
        auth = base64.b64encode(b"\0alice\0alice-secret")
        for cmd in (b"EHLO client.sesgate.test", b"AUTH PLAIN " + auth,
                    f"MAIL FROM:<alice@{DOMAIN}>".encode(),
                    b"RCPT TO:<bob@dest.example>", b"DATA"):
            s.sendall(cmd + b"\r\n")
            line = f.readline()
            while line[3:4] == b"-":
                line = f.readline()
            assert line[:1] in (b"2", b"3"), (cmd, line)
        s.sendall(msg + b".\r\n")
        assert f.readline().startswith(b"250 ")
        s.sendall(b"QUIT\r\n")
    (d,) = delivered(sink, token)
    assert b"one\r\ntwo\r\n\r\nthree\r\n" in d.data
    assert results(dns, d.data) == [f"d={DOMAIN} s=rsa1 a=rsa-sha256 pass"]


def test_refusals_reach_the_client(mta):
    pf, sink = mta()
    token = uuid.uuid4().hex
    assert submit(pf, message(token, frm="eve@unverified.example")) == (
        "554 5.7.1 Message rejected: Email address is not verified. The "
        "following identities failed the check in region us-east-1: "
        "eve@unverified.example")
    assert submit(pf, message(token, extra=b"Subject: again\r\n")) == (
        "554 5.6.0 Transaction failed: Duplicate header 'Subject'.")
    attach = (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
              b"boundary=b1\r\n")
    body = (b"--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b1\r\n"
            b"Content-Disposition: attachment; filename=tool.exe\r\n\r\n"
            b"AAAA\r\n--b1--\r\n")
    assert submit(pf, message(token, extra=attach, body=body)) == (
        "554 5.6.1 Transaction failed: attachment \"tool.exe\": SES does "
        "not accept files ending in .exe")
    time.sleep(0.5)
    assert sink.received(token) == []


def test_milter_down_means_tempfail(mta, stack):
    """milter_default_action = tempfail: with the milter not answering,
    nothing goes out unchecked."""
    pf, sink = mta()
    milter = stack[2]
    milter.stop()
    try:
        token = uuid.uuid4().hex
        with smtplib.SMTP("127.0.0.1", pf.port, timeout=60) as s:
            s.ehlo("client.sesgate.test")
            # Postfix tempfails the session from its first command on.
            with pytest.raises(smtplib.SMTPAuthenticationError) as e:
                s.login(*LOGIN)
            assert (e.value.smtp_code, e.value.smtp_error) == (
                454, b"4.3.0 Try again later")
            code, text = s.mail(f"alice@{DOMAIN}")
            assert code == 451, (code, text)
        time.sleep(0.5)
        assert sink.received(token) == []
    finally:
        milter.start()
