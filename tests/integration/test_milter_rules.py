"""sesgate-milter on outbound mail, played over the milter protocol by an
MTA-independent client (milterclient.py), as Postfix or Sendmail would:
DKIM signatures checked by dkimpy against keys published in a real DNS
server on loopback, and every SES submission rule with its exact reply.
"""
import os
import subprocess
import time

import pytest

import dkimcheck
import milterclient as mc
from dnsserver import DnsServer
from lab import MILTER, MilterD, rss_kb, write_conf

DOMAIN = "signed.example"
AUTH = {"mail": {"{auth_authen}": "alice"}}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    return {"rsa": dkimcheck.make_key(d, "rsa", 2048, "rsa"),
            "ed": dkimcheck.make_key(d, "ed25519", name="ed"),
            "rsa1024": dkimcheck.make_key(d, "rsa", 1024, "rsa1024")}


@pytest.fixture(scope="module")
def dns(tmp_path_factory, keys):
    srv = DnsServer(tmp_path_factory.mktemp("dns")).start()
    srv.add_zone(DOMAIN, [keys["rsa"].record("rsa1"),
                          keys["ed"].record("ed1"),
                          keys["rsa1024"].record("old")])
    srv.add_zone("edonly.example", [keys["ed"].record("ed1")])
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def milter_proc(tmp_path_factory, keys):
    """One sesgate-milter for the module (libmilter takes a few seconds
    to stop); each test configures it with a reload."""
    m = MilterD(tmp_path_factory.mktemp("milter"), "redis://127.0.0.1:1/0",
                milter=default_conf(keys), glob={"region": "eu-west-1"})
    yield m
    m.stop()


def default_conf(keys):
    return {"dkim_key": [f"{DOMAIN} rsa1 {keys['rsa'].path}",
                         f"{DOMAIN} ed1 {keys['ed'].path}",
                         f"edonly.example ed1 {keys['ed'].path}"]}


@pytest.fixture
def milter_factory(milter_proc, redis_server, keys):
    """milter(**[milter] keys): the module's sesgate-milter reloaded with
    these keys over the defaults (the RSA and Ed25519 keys of
    signed.example, the Ed25519 key of edonly.example), this test's
    Redis, and signed.example and edonly.example verified in it."""
    r = redis_server.client()
    r.sadd("sesgate:identities", DOMAIN, "edonly.example",
           "only@address.example")

    def make(**milter):
        conf = {"listen": milter_proc.spec}
        conf.update(default_conf(keys))
        conf.update(milter)
        milter_proc.sections["milter"] = conf
        milter_proc.sections["redis"]["url"] = redis_server.url
        milter_proc.rewrite()
        milter_proc.reload()
        return milter_proc
    return make


def message(frm=f"Alice <alice@{DOMAIN}>", extra=b"", body=b"Hello.\r\n",
            subject=b"hello"):
    return (b"From: " + frm.encode() + b"\r\nTo: bob@dest.example\r\n"
            b"Subject: " + subject + b"\r\n" + extra + b"\r\n" + body)


def send(m, msg, rcpts=("bob@dest.example",), sender=f"alice@{DOMAIN}",
         macros=AUTH, **kw):
    return mc.send_message(m.spec, sender, list(rcpts), msg, macros=macros,
                           **kw)


def verified(dns, msg, res):
    out = mc.apply_edits(msg, res)
    return [f"d={s.d} s={s.s} a={s.a} c={s.canon} {s.result}"
            + (f" {s.reason}" if s.reason else "")
            for s in dkimcheck.verify(out, dns.nameserver())]


# -- signing ---------------------------------------------------------------

def test_signs_with_rsa_by_default(milter_factory, dns):
    m = milter_factory()
    msg = message()
    res = send(m, msg)
    assert res.action == "continue"
    sigs = [e for e in res.header_edits if e.name == "DKIM-Signature"]
    assert len(sigs) == 1 and sigs[0].kind == "insert_header" and \
        sigs[0].index == 0
    assert verified(dns, msg, res) == [
        f"d={DOMAIN} s=rsa1 a=rsa-sha256 c=relaxed/relaxed pass"]
    assert "h=From:To:Subject:From;" in sigs[0].value.replace(
        "\r\n\t", "")
    assert 'dkim="d=signed.example s=rsa1 a=rsa-sha256" action=accept' \
        in m.logtext()


def test_ed25519_only_domain(milter_factory, dns):
    m = milter_factory()
    msg = message(frm="x@edonly.example")
    res = send(m, msg, sender="x@edonly.example")
    assert verified(dns, msg, res) == [
        "d=edonly.example s=ed1 a=ed25519-sha256 c=relaxed/relaxed pass"]


def test_dual_sign_verifies_both(milter_factory, dns):
    m = milter_factory(dual_sign="yes")
    msg = message()
    res = send(m, msg)
    assert sorted(verified(dns, msg, res)) == sorted([
        f"d={DOMAIN} s=rsa1 a=rsa-sha256 c=relaxed/relaxed pass",
        f"d={DOMAIN} s=ed1 a=ed25519-sha256 c=relaxed/relaxed pass"])


@pytest.mark.parametrize("canon", ["simple/simple", "relaxed/simple",
                                   "simple/relaxed"])
def test_canonicalizations(milter_factory, dns, canon):
    m = milter_factory(canonicalization=canon)
    msg = message(extra=b"X-Folded: a long value\r\n\tfolded  here\r\n",
                  body=b"Line  with  spaces \r\n\r\n\r\n")
    res = send(m, msg)
    assert verified(dns, msg, res) == [
        f"d={DOMAIN} s=rsa1 a=rsa-sha256 c={canon} pass"]


@pytest.mark.parametrize("canon,got", [
    ("simple/simple", "relaxed/simple"), ("relaxed/relaxed",
                                          "relaxed/relaxed")])
def test_ed25519_header_always_relaxed(milter_factory, dns, canon, got):
    """libopendkim's Ed25519 signatures over simple header fields do not
    verify, so Ed25519 signs the header relaxed (sesgate.conf(5))."""
    m = milter_factory(canonicalization=canon)
    msg = message(frm="x@edonly.example",
                  extra=b"X-Folded: a long value\r\n\tfolded  here\r\n")
    res = send(m, msg, sender="x@edonly.example")
    assert verified(dns, msg, res) == [
        f"d=edonly.example s=ed1 a=ed25519-sha256 c={got} pass"]


def test_eight_bit_long_folded_and_empty_bodies(milter_factory, dns):
    m = milter_factory()
    long_subject = b"x" * 900 + b"\r\n " + b"y" * 900
    for msg in (message(body="Grüße aus Köln – ünïcödé\r\n".encode()),
                message(subject=long_subject),
                message(body=b"")):
        res = send(m, msg)
        assert verified(dns, msg, res) == [
            f"d={DOMAIN} s=rsa1 a=rsa-sha256 c=relaxed/relaxed pass"], msg


def test_subdomain_signed_by_parent_only_when_asked(milter_factory, dns,
                                                    redis_server):
    redis_server.cli("SADD", "sesgate:identities", f"news.{DOMAIN}")
    msg = message(frm=f"n@news.{DOMAIN}")
    res = send(milter_factory(), msg, sender=f"n@news.{DOMAIN}")
    assert res.action == "continue" and res.header_edits == []
    res = send(milter_factory(sign_subdomains="yes"), msg,
               sender=f"n@news.{DOMAIN}")
    assert verified(dns, msg, res) == [
        f"d={DOMAIN} s=rsa1 a=rsa-sha256 c=relaxed/relaxed pass"]


def test_not_signed_without_key_or_with_odd_from(milter_factory,
                                                 redis_server):
    redis_server.cli("SADD", "sesgate:identities", "nokey.example")
    m = milter_factory()
    res = send(m, message(frm="a@nokey.example"), sender="a@nokey.example")
    assert res.action == "continue" and res.header_edits == []
    assert "no DKIM key for nokey.example; not signed" in m.logtext()
    two = message(frm=f"a@{DOMAIN}, b@{DOMAIN}")
    res = send(m, two)
    assert res.action == "continue" and res.header_edits == []
    assert "1 From field(s) with 2 address(es); not signed" in m.logtext()


def test_message_signed_already_is_left_alone(milter_factory):
    m = milter_factory()
    res = send(m, message(extra=b"DKIM-Signature: v=1; d=app.example\r\n"))
    assert res.action == "continue" and res.header_edits == []
    assert "already carries a DKIM-Signature; not signed" in m.logtext()


def test_inbound_mail_is_verified_not_signed(milter_factory, dns):
    """A remote client's message (no AUTH, not internal) gets none of
    the outbound rules (its From is no verified identity) and no
    signature: only the inbound verdicts."""
    m = milter_factory(dns_resolver=f"127.0.0.1@{dns.port}",
                       authserv_id="mx.rules.test", on_dns_error="accept")
    res = send(m, message(frm="x@unverified.example"), macros={},
               sender="x@unverified.example", client_addr="192.0.2.9")
    assert res.action == "continue"
    assert [e.name for e in res.header_edits] == ["Authentication-Results"]


def test_internal_host_and_daemon_name_are_outbound(milter_factory):
    m = milter_factory(outbound_daemon_names="ORIGINATING")
    # Internal (127.0.0.1 is in the default internal_hosts), no AUTH.
    res = send(m, message(frm="x@unverified.example"), macros={})
    assert res.action == "reject"
    res = send(m, message(frm="x@unverified.example"),
               client_addr="192.0.2.9",
               macros={"connect": {"{daemon_name}": "ORIGINATING"}})
    assert res.action == "reject"


# -- SES's submission rules ---------------------------------------------

UNVERIFIED = ("554 5.7.1 Message rejected: Email address is not "
              "verified. The following identities failed the check in "
              "region eu-west-1: ")


def test_unverified_from_refused(milter_factory):
    m = milter_factory()
    res = send(m, message(frm="Eve <eve@unverified.example>"))
    assert (res.action, res.stage, res.text) == (
        "reject", "eoh", UNVERIFIED + "eve@unverified.example")
    res = send(m, message(frm=f"a@{DOMAIN}, b@unverified.example, "
                              "only@address.example, c@x.example"))
    assert res.text == UNVERIFIED + "b@unverified.example, c@x.example"
    # A verified address (not its domain) passes.
    assert send(m, message(frm="only@address.example")).action == \
        "continue"


def test_verified_from_remembered_for_identity_cache(milter_factory,
                                                     redis_server):
    """A From address found verified is not asked again for
    identity_cache: removed meanwhile, it still passes; once that time
    is over it is refused. An identity added counts at once (no "not
    verified" is remembered). With 0, every message is asked."""
    r = redis_server.client()
    r.srem("sesgate:identities", "late@address.example")
    m = milter_factory(identity_cache="2s")
    frm = "late@address.example"
    assert send(m, message(frm=frm)).text == UNVERIFIED + frm
    r.sadd("sesgate:identities", frm)
    # The milter remembers the address at some moment between t0 and t1,
    # so until t0 + 2 s at least and t1 + 2 s at most.
    t0 = time.monotonic()
    assert send(m, message(frm=frm)).action == "continue"
    t1 = time.monotonic()
    r.srem("sesgate:identities", frm)
    res = send(m, message(frm=frm))
    if time.monotonic() - t0 < 1.5:
        assert res.action == "continue"
    while time.monotonic() - t1 < 2.2:
        time.sleep(0.1)
    assert send(m, message(frm=frm)).text == UNVERIFIED + frm
    # Off: a removal counts at once.
    m = milter_factory(identity_cache="0")
    r.sadd("sesgate:identities", frm)
    assert send(m, message(frm=frm)).action == "continue"
    r.srem("sesgate:identities", frm)
    assert send(m, message(frm=frm)).text == UNVERIFIED + frm


def test_unreadable_from_refused(milter_factory):
    m = milter_factory()
    for frm in ("Alice Liddell", "<>", f"\"a@{DOMAIN}"):
        res = send(m, message(frm=frm))
        assert (res.action, res.stage, res.text) == (
            "reject", "eoh", "554 5.1.7 Message rejected: the From field "
            "holds an address that cannot be read"), frm


def test_from_check_can_be_off(milter_factory):
    m = milter_factory(verify_from="no")
    assert send(m, message(frm="eve@unverified.example")).action == \
        "continue"


@pytest.mark.parametrize("name", ["Subject", "From", "Message-ID", "Date",
                                  "Reply-To", "Content-Type",
                                  "DKIM-Signature", "MIME-Version"])
def test_header_allowed_once(milter_factory, name):
    m = milter_factory()
    extra = f"{name}: one\r\n{name.upper()}: two\r\n".encode()
    res = send(m, message(extra=extra) if name not in ("Subject", "From")
               else message(extra=f"{name}: two\r\n".encode()))
    # Header fields are not answered one by one: the refusal comes at the
    # end of the header.
    assert (res.action, res.stage, res.text) == (
        "reject", "eoh",
        f"554 5.6.0 Transaction failed: Duplicate header '{name}'.")


# An MTA that does not offer to leave header fields and body chunks
# unanswered (SMFIP_NR_HDR, SMFIP_NR_BODY), as Sendmail before 8.14.
NO_NR = mc.ALL_STEPS & ~(mc.STEPS["NR_HDR"] | mc.STEPS["NR_BODY"])


def test_data_stage_answered_on_tcp(milter_factory):
    """On TCP the milter asks for the DATA stage, so that its answer
    carries the ACK of the DATA macros at once; else Postfix's Nagle's
    algorithm holds the header fields back for our delayed ACK (40 ms a
    message). Header fields and body chunks stay unanswered."""
    m = milter_factory()
    res = send(m, message())
    assert res.action == "continue"
    assert "NODATA" not in res.negotiation.steps
    assert {"NR_HDR", "NR_BODY", "NOUNKNOWN"} <= res.negotiation.steps


def listening_socket_of(pid, port):
    """A copy of the TCP socket process pid listens on at port (through
    pidfd_getfd(2)), found by its inode in /proc/net/tcp."""
    import ctypes
    import socket
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and \
                    int(fields[1].split(":")[1], 16) == port:
                inode = fields[9]
    assert inode is not None, f"nothing listens on port {port}"
    fds = [int(fd) for fd in os.listdir(f"/proc/{pid}/fd")
           if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]"]
    assert fds, f"process {pid} does not hold socket {inode}"
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        fd = libc.syscall(438, pidfd, fds[0], 0)    # SYS_pidfd_getfd
        assert fd >= 0, os.strerror(ctypes.get_errno())
    finally:
        os.close(pidfd)
    return socket.socket(fileno=fd)


def test_tcp_listener_has_nodelay(milter_factory):
    """libmilter sets no TCP_NODELAY; the milter sets it on its listening
    socket, which the connections it accepts inherit (else each
    modification would hold the final answer back for the MTA's delayed
    ACK)."""
    import socket
    m = milter_factory()
    with listening_socket_of(m.proc.pid, m.port) as s:
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_unanswered_stages_negotiated_on_a_unix_socket(tmp_path,
                                                       redis_server, keys):
    sock = str(tmp_path / "milter.sock")
    redis_server.client().sadd("sesgate:identities", DOMAIN)
    m = MilterD(tmp_path / "unix", redis_server.url, unix=sock,
                milter=dict(default_conf(keys), listen=f"unix:{sock}"))
    try:
        res = send(m, message())
        assert res.action == "continue"
        assert {"NR_HDR", "NR_BODY", "NODATA", "NR_HELO",
                "NR_EOH"} <= res.negotiation.steps
        assert [e.name for e in res.header_edits] == ["DKIM-Signature"]
        # A refusal found in the header is given at the end of the
        # message (the end of the header is not answered), with the same
        # text, and nothing is added to the message.
        res = send(m, message(extra=b"Subject: two\r\n"))
        assert (res.action, res.stage, res.text) == (
            "reject", "eob",
            "554 5.6.0 Transaction failed: Duplicate header 'Subject'.")
        assert res.modifications == []
        res = send(m, message(frm="x@unverified.example"))
        assert (res.action, res.stage) == ("reject", "eob")
        assert res.text.startswith("554 5.7.1 Message rejected: Email "
                                   "address is not verified.")
        assert res.modifications == []
        # An MTA that offers none of it gets every stage answered (by
        # libmilter), and the same refusal at the same point.
        no_nr = NO_NR & ~(mc.STEPS["NR_HELO"] | mc.STEPS["NR_EOH"])
        res = send(m, message(), protocol=no_nr)
        assert res.action == "continue"
        assert not {"NR_HDR", "NR_BODY", "NR_HELO",
                    "NR_EOH"} & res.negotiation.steps
        res = send(m, message(extra=b"Subject: two\r\n"), protocol=no_nr)
        assert (res.action, res.stage, res.text) == (
            "reject", "eob",
            "554 5.6.0 Transaction failed: Duplicate header 'Subject'.")
    finally:
        m.stop()


def test_refusals_when_the_mta_answers_every_stage(milter_factory):
    # libmilter answers the fields and chunks itself for an MTA without
    # SMFIP_NR_HDR / SMFIP_NR_BODY: the refusal still comes at the end of
    # the header or of the message, and nothing is let through.
    m = milter_factory(max_message_size="4096")
    res = send(m, message(extra=b"Subject: two\r\n"), protocol=NO_NR)
    assert (res.action, res.stage, res.text) == (
        "reject", "eoh",
        "554 5.6.0 Transaction failed: Duplicate header 'Subject'.")
    res = send(m, message(body=b"x" * 5000 + b"\r\n"), protocol=NO_NR)
    assert (res.action, res.stage, res.text) == (
        "reject", "eob",
        "552 5.3.4 Message size exceeds fixed limit of 4096 bytes")
    assert res.modifications == []
    # The connection is ready for the next message.
    assert send(m, message(), protocol=NO_NR).action == "continue"


def test_first_refusal_is_the_one_given(milter_factory):
    m = milter_factory(max_message_size="4096")
    # A duplicate Subject, then enough header to pass the limit: the
    # duplicate is named, at the end of the header.
    big = b"X-Pad: " + b"y" * 5000 + b"\r\n"
    res = send(m, message(extra=b"Subject: two\r\n" + big))
    assert (res.action, res.stage, res.text) == (
        "reject", "eoh",
        "554 5.6.0 Transaction failed: Duplicate header 'Subject'.")


def test_repeatable_header_passes(milter_factory):
    m = milter_factory()
    res = send(m, message(extra=b"Received: a\r\nReceived: b\r\n"
                                b"X-Custom: 1\r\nX-Custom: 2\r\n"))
    assert res.action == "continue"


def test_size_boundary(milter_factory):
    m = milter_factory(max_message_size="4096")
    head = message(body=b"")
    for size, action in ((4096, "continue"), (4097, "reject")):
        msg = head + b"x" * (size - len(head) - 2) + b"\r\n"
        assert len(msg) == size
        res = send(m, msg)
        assert res.action == action, size
        if action == "reject":
            assert (res.stage, res.text) == (
                "eob", "552 5.3.4 Message size exceeds fixed limit of "
                "4096 bytes")


def test_size_announced_at_mail_from(milter_factory):
    m = milter_factory()
    res = send(m, message(), mail_args=["SIZE=10485761"])
    assert (res.action, res.stage, res.text) == (
        "reject", "mail", "552 5.3.4 Message size exceeds fixed limit of "
        "10485760 bytes")
    assert send(m, message(), mail_args=["SIZE=10485760"]).action == \
        "continue"


def test_recipients_past_the_limit_get_452(milter_factory):
    m = milter_factory()
    rcpts = [f"r{i}@dest.example" for i in range(52)]
    res = send(m, message(), rcpts=rcpts)
    assert res.action == "continue"
    assert len(res.accepted) == 50
    refused = [(r, rep.text) for r, rep in res.rcpt if not rep.passes]
    assert refused == [("r50@dest.example", "452 4.5.3 Too many "
                        "recipients"),
                       ("r51@dest.example", "452 4.5.3 Too many "
                        "recipients")]


ATTACH = (b"MIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n")


def attachment(disposition):
    return (b"--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
            b"--b1\r\n" + disposition + b"\r\n\r\nAAAA\r\n--b1--\r\n")


@pytest.mark.parametrize("disp,file,ext", [
    (b"Content-Disposition: attachment; filename=\"setup.EXE\"",
     "setup.EXE", "exe"),
    (b"Content-Type: application/octet-stream; name=run.bat",
     "run.bat", "bat"),
    (b"Content-Disposition: attachment;\r\n filename*0*=utf-8''r%C3%A9;"
     b"\r\n filename*1=\"sum\xc3\xa9.js\"", "r??sum??.js", "js"),
    (b"Content-Disposition: attachment; filename=\"=?utf-8?B?"
     b"aW52b2ljZS52YnM=?=\"", "invoice.vbs", "vbs"),
])
def test_unsupported_attachment_refused(milter_factory, disp, file, ext):
    m = milter_factory()
    res = send(m, message(extra=ATTACH, body=attachment(disp)))
    assert (res.action, res.stage, res.text) == (
        "reject", "eob", f"554 5.6.1 Transaction failed: attachment "
        f"\"{file}\": SES does not accept files ending in .{ext}")


def test_supported_attachment_passes(milter_factory, dns):
    m = milter_factory()
    msg = message(extra=ATTACH, body=attachment(
        b"Content-Disposition: attachment; filename=\"report.exe.pdf\""))
    res = send(m, msg)
    assert verified(dns, msg, res) == [
        f"d={DOMAIN} s=rsa1 a=rsa-sha256 c=relaxed/relaxed pass"]


# -- configuration sets ---------------------------------------------------

def test_configuration_set_added(milter_factory):
    m = milter_factory(configuration_set=[
        f"{DOMAIN} marketing", "user:alice transactional app=web,env=prod",
        "example.org other"])
    res = send(m, message())
    adds = [(e.name, e.value.strip()) for e in res.header_edits
            if e.kind == "add_header"]
    assert adds == [("X-SES-CONFIGURATION-SET", "transactional"),
                    ("X-SES-MESSAGE-TAGS", "app=web,env=prod")]
    res = send(m, message(), macros={"mail": {"{auth_authen}": "carol"}})
    adds = [(e.name, e.value.strip()) for e in res.header_edits
            if e.kind == "add_header"]
    assert adds == [("X-SES-CONFIGURATION-SET", "marketing")]
    res = send(m, message(extra=b"X-SES-CONFIGURATION-SET: mine\r\n"))
    assert [e for e in res.header_edits if e.kind == "add_header"] == []


# -- keys and reload ---------------------------------------------------------

def test_key_rotation_on_reload(milter_factory, dns, keys):
    m = milter_factory()
    msg = message()
    assert verified(dns, msg, send(m, msg))[0].startswith(
        f"d={DOMAIN} s=rsa1 ")
    m.rewrite(dkim_key=[f"{DOMAIN} rsa1 {keys['rsa'].path}",
                        f"{DOMAIN} old {keys['rsa1024'].path}"])
    m.reload()
    assert verified(dns, msg, send(m, msg)) == [
        f"d={DOMAIN} s=old a=rsa-sha256 c=relaxed/relaxed pass"]


def test_bad_key_refuses_start_and_reload(milter_factory, keys, tmp_path,
                                         redis_server):
    loose = tmp_path / "loose.pem"
    loose.write_bytes(keys["rsa"].pem())
    os.chmod(loose, 0o644)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    os.chmod(garbage, 0o600)
    m = milter_factory()
    # Two bad keys: two lines, each naming its file.
    m.rewrite(dkim_key=[f"{DOMAIN} rsa1 {loose}",
                        f"{DOMAIN} rsa2 {garbage}"])
    m.reload(wait_for="keeping the running configuration")
    tail = m.logtext().rsplit("keeping the running configuration", 1)[1]
    problems = [line for line in tail.splitlines()
                if ": error: milter: reload: " in line]
    assert len(problems) == 2, tail
    assert str(loose) in problems[0] and str(garbage) in problems[1]
    for bad in (loose, garbage, tmp_path / "missing.pem"):
        m.rewrite(dkim_key=[f"{DOMAIN} rsa1 {bad}"])
        m.reload(wait_for="keeping the running configuration")
        assert str(bad) in m.logtext().rsplit("reload:", 1)[1]
        # Still signing with the old key.
        res = send(m, message())
        assert any(e.name == "DKIM-Signature" for e in res.header_edits)
    # At start: the same problems stop the milter (EX_CONFIG), naming
    # the file. (It reads the keys once it is its user, after opening
    # its socket, so the exit is waited for, not the port.)
    sections = dict(m.sections, milter=dict(
        m.sections["milter"], listen="inet:0@127.0.0.1",
        dkim_key=f"{DOMAIN} rsa1 {loose}"))
    conf = write_conf(str(tmp_path / "bad.conf"), sections)
    r = subprocess.run([MILTER, "-f", "-c", conf], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 78, r.stderr
    assert f": error: milter: {loose}: " in r.stderr, r.stderr


# -- the policy service's checks in the milter (Sendmail) ------------------

def test_policy_checks_at_rcpt(milter_factory, redis_server):
    """policy_checks: the policy service's decisions and replies, made by
    the milter at RCPT through the same Redis script."""
    r = redis_server.client()
    r.hset("sesgate:suppression:gone@dest.example",
           mapping={"reason": "BOUNCE", "time": "1700000000"})
    r.hset("sesgate:limits:account", mapping={"max_24h": "2"})
    m = milter_factory(policy_checks="yes")
    rcpts = ["gone@dest.example", "a@dest.example", "b@dest.example",
             "c@dest.example"]
    res = send(m, message(), rcpts=rcpts)
    assert [(x, rep.text) for x, rep in res.rcpt] == [
        ("gone@dest.example", "550 5.1.1 Address is on the suppression "
         "list (reason BOUNCE, since 2023-11-14T22:13:20Z)"),
        ("a@dest.example", None), ("b@dest.example", None),
        ("c@dest.example", "454 4.7.0 Throttling failure: Daily message "
         "quota exceeded.")]
    assert res.accepted == ["a@dest.example", "b@dest.example"]
    assert r.hgetall("sesgate:stats") == {
        "policyd:suppressed": "1", "policyd:accept": "2",
        "policyd:quota": "1"}
    # An unverified envelope sender is refused at RCPT, and a pause too.
    res = send(m, message(), sender="eve@unverified.example")
    assert res.rcpt[0][1].text == (
        "554 5.7.1 Message rejected: Email address is not verified. The "
        "following identities failed the check in region eu-west-1: "
        "eve@unverified.example")
    r.set("sesgate:pause:account", "bounce rate review")
    res = send(m, message())
    assert res.rcpt[0][1].text == (
        "454 4.7.0 Sending paused for this account: bounce rate review")


def test_policy_checks_off_by_default(milter_factory, redis_server):
    redis_server.client().set("sesgate:pause:account", "held")
    res = send(milter_factory(), message())
    assert res.accepted == ["bob@dest.example"]


# -- bad input ---------------------------------------------------------------

def test_malformed_mime_is_decided_and_logged(milter_factory, dns):
    """Truncated MIME, a multipart without boundary, 10,001 parts: each
    message gets a clear decision (signed and passed on) and a log line
    naming what was odd; nothing crashes."""
    m = milter_factory()
    cases = [
        (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
         b"boundary=b1\r\n", b"--b1\r\nContent-Type: text/plain\r\n\r\n"
         b"cut off here", "malformed MIME handled: unterminated"),
        (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n",
         b"no boundary at all\r\n", "malformed MIME handled: no-boundary"),
        (b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
         b"boundary=p\r\n",
         b"".join(b"--p\r\nContent-Type: text/plain\r\n\r\nx\r\n"
                  for _ in range(10001)) + b"--p--\r\n",
         "attachments not all checked: more than 10000 parts"),
    ]
    for extra, body, logged in cases:
        msg = message(extra=extra, body=body)
        res = send(m, msg)
        assert res.action == "continue", logged
        assert verified(dns, msg, res) == [
            f"d={DOMAIN} s=rsa1 a=rsa-sha256 c=relaxed/relaxed pass"]
        assert logged in m.logtext(), logged


def test_huge_header_and_nul_bytes(milter_factory, dns):
    """A 1 MB header line (libmilter's largest packet) and NUL bytes in
    the body are signed like any other; the milter's memory does not grow
    with them."""
    m = milter_factory()
    big = b"X-Big: " + b"a" * 1000000 + b"\r\n"
    msg = message(extra=big, body=b"nul\x00in\x00body\r\n")
    res = send(m, msg)
    assert verified(dns, msg, res) == [
        f"d={DOMAIN} s=rsa1 a=rsa-sha256 c=relaxed/relaxed pass"]
    if os.environ.get("SANITIZE") == "1":
        return      # ASan keeps freed memory in quarantine
    before = rss_kb(m.proc.pid)
    for _ in range(20):
        assert send(m, msg).action == "continue"
    grown = rss_kb(m.proc.pid) - before
    assert grown < 8 * 1024, f"RSS grew by {grown} kB over 20 messages"


def test_message_without_from_passes_unsigned(milter_factory):
    m = milter_factory()
    res = send(m, b"To: bob@dest.example\r\nSubject: x\r\n\r\nbody\r\n")
    assert res.action == "continue" and res.header_edits == []
    assert "0 From field(s) with 0 address(es); not signed" in m.logtext()
