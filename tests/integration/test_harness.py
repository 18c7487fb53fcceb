"""The milter test harness works, and can fail:

- dnsserver: NSD on loopback answers a TXT record split into 255-byte
  strings over UDP and TCP, and answers a replaced record, an added or
  removed zone right after the call returns;
- dkimcheck: messages signed by dkimpy with RSA (1024, 2048, 4096 bits)
  and Ed25519 keys published in that server pass; an altered body, an
  altered signed header, a missing, revoked, too small or wrong-type key
  and an unsigned From each fail with their own reason;
- milterclient: against milter_echo (a small libmilter filter built here),
  negotiation, macros, every stage, custom reply codes, tempfail, every
  kind of modification, body chunks, several messages and QUIT_NC on one
  connection, and timeouts; apply_edits() gives the delivered message,
  whose DKIM signature the verifier then checks.
"""
import base64
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time

import pytest

import dkimcheck
import milterclient as mc
from dnsserver import DnsServer
from lab import TOP, stop_pid, wait_port

ECHO_SRC = [os.path.join(TOP, "tests", "integration", "milter_echo",
                         "milter_echo.c")] + \
    [os.path.join(TOP, "lib", f) for f in ("buf.c", "log.c", "mem.c",
                                           "str.c")]
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wformat=2",
          "-Wshadow", "-Wstrict-prototypes", "-Wwrite-strings",
          "-D_GNU_SOURCE", "-I" + os.path.join(TOP, "lib")]
# As make check SANITIZE=1 builds the programs.
if os.environ.get("SANITIZE") == "1":
    CFLAGS += ["-g", "-fsanitize=address,undefined",
               "-fno-sanitize-recover=undefined"]


@pytest.fixture
def dns_server(tmp_path):
    srv = DnsServer(tmp_path / "dns").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def dkim_keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    return {"rsa1024": dkimcheck.make_key(d, "rsa", 1024),
            "rsa2048": dkimcheck.make_key(d, "rsa", 2048),
            "rsa4096": dkimcheck.make_key(d, "rsa", 4096),
            "ed25519": dkimcheck.make_key(d, "ed25519")}


@pytest.fixture(scope="module")
def milter_echo_bin(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("milter_echo") / "milter_echo")
    subprocess.run(["cc"] + CFLAGS + ["-o", out] + ECHO_SRC +
                   ["-lmilter", "-lpthread", "-lm"], check=True,
                   timeout=120)
    return out


class MilterEcho:
    """milter_echo on a unix socket (in a short temporary directory: the
    path must fit sun_path) or on inet:PORT@127.0.0.1."""

    def __init__(self, binary, tmpdir, kind="unix", flags=()):
        self.dir = tempfile.mkdtemp(prefix="echo-")
        if kind == "unix":
            self.path = os.path.join(self.dir, "echo.sock")
            self.spec = f"unix:{self.path}"
        else:
            self.port = _free_port()
            self.spec = f"inet:{self.port}@127.0.0.1"
        self.log = os.path.join(str(tmpdir), "milter_echo.log")
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen([binary, "-p", self.spec] + list(flags),
                                     stdout=self.logf, stderr=self.logf)
        if kind == "unix":
            _wait_unix(self.path, self.proc)
        else:
            wait_port(self.port, proc=self.proc)

    def stop(self):
        stop_pid(self.proc)
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_unix(path, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"milter exited with {proc.returncode}")
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(path)
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {path} after {timeout}s")


@pytest.fixture(scope="module")
def milter_echo(milter_echo_bin, tmp_path_factory):
    """milter_echo(kind="unix"|"inet", flags=()): a running milter_echo,
    shared by the tests of this module (each test uses connections of its
    own). libmilter notices SIGTERM only at its next 5-second poll, so all
    are signalled at once at the end and then waited for, by PID."""
    pool = {}
    logdir = tmp_path_factory.mktemp("milter_echo_run")

    def get(kind="unix", flags=()):
        key = (kind, tuple(flags))
        if key not in pool:
            pool[key] = MilterEcho(milter_echo_bin, logdir, kind, flags)
        return pool[key]
    yield get
    for m in pool.values():
        if m.proc.poll() is None:
            os.kill(m.proc.pid, signal.SIGTERM)
    for m in pool.values():
        m.stop()


MSG = (b"From: Alice <alice@example.com>\r\n"
       b"To: Bob <bob@example.net>\r\n"
       b"Subject: hello\r\n"
       b"Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
       b"Message-ID: <1@example.com>\r\n"
       b"\r\n"
       b"Hello Bob.\r\n")


# The DNS server.

def test_dns_txt_split_in_strings_over_udp_and_tcp(dns_server, dkim_keys):
    long_value = "v=DKIM1; k=rsa; p=" + "A" * 600
    key = dkim_keys["rsa2048"]
    dns_server.add_zone("example.com", [
        ("long._domainkey", "TXT", long_value),
        key.record("r2048"),
        ("@", "A", "192.0.2.1"),
        ("@", "MX", "10 mx.example.com."),
        ("_dmarc", "TXT", "v=DMARC1; p=reject"),
    ])
    for tcp in (False, True):
        r = dns_server.query("long._domainkey.example.com", "TXT", tcp=tcp)
        assert r.flags & 0x0400, "answer not authoritative"
        strings = [list(rd.strings) for rrset in r.answer for rd in rrset]
        assert [len(s) for s in strings[0]] == [255, 255, 108]
        assert b"".join(strings[0]) == long_value.encode()
        assert b"".join(dns_server.txt("r2048._domainkey.example.com",
                                       tcp=tcp)[0]) == key.txt.encode()
    assert dns_server.txt("_dmarc.example.com") == [[b"v=DMARC1; p=reject"]]
    res = dns_server.resolver()
    assert [a.to_text() for a in res.resolve("example.com", "A")] == \
        ["192.0.2.1"]
    assert [a.to_text() for a in res.resolve("example.com", "MX")] == \
        ["10 mx.example.com."]


def test_dns_given_strings_and_escapes_kept(dns_server):
    dns_server.add_zone("strings.test", [
        ("x", "TXT", ["first", 'quote " and \\ backslash', ""])])
    assert dns_server.txt("x.strings.test") == \
        [[b"first", b'quote " and \\ backslash', b""]]


def test_dns_replaced_record_seen_right_after_the_call(dns_server):
    dns_server.add_zone("example.com", [("sel._domainkey", "TXT", "old")])
    assert dns_server.txt("sel._domainkey.example.com") == [[b"old"]]
    # Several changes within one second: each is served on return.
    for value in ("new", "newer", "newest"):
        dns_server.replace_records("example.com", "sel._domainkey", "TXT",
                                   [value])
        assert dns_server.txt("sel._domainkey.example.com") == \
            [[value.encode()]]
    dns_server.replace_records("example.com", "sel._domainkey", "TXT", [])
    r = dns_server.query("sel._domainkey.example.com", "TXT")
    assert r.rcode() == 3 and not r.answer  # NXDOMAIN
    dns_server.set_records("example.com", [("a", "A", "192.0.2.9")])
    assert [rr.to_text() for rrset in
            dns_server.query("a.example.com", "A").answer
            for rr in rrset] == ["192.0.2.9"]


def test_dns_zone_added_and_removed_while_running(dns_server):
    r = dns_server.query("x.late.test", "TXT")
    assert r.rcode() == 5  # REFUSED: not served
    dns_server.add_zone("late.test", [("x", "TXT", "here")])
    assert dns_server.txt("x.late.test") == [[b"here"]]
    dns_server.remove_zone("late.test")
    assert dns_server.query("x.late.test", "TXT").rcode() == 5


def test_dns_stop_frees_the_port_and_restart_serves_the_zones(tmp_path):
    srv = DnsServer(tmp_path / "dns")
    srv.add_zone("example.com", [("x", "TXT", "kept")])
    srv.start()
    try:
        srv.replace_records("example.com", "x", "TXT", ["changed"])
        srv.stop()
        assert srv._session_pids() == []
        with pytest.raises(Exception):
            srv.query("x.example.com", "TXT", timeout=0.3)
        srv.start()
        assert srv.txt("x.example.com") == [[b"changed"]]
    finally:
        srv.stop()


# The DKIM verifier.

def test_dkim_keys_made_with_openssl(dkim_keys):
    for name, key in dkim_keys.items():
        assert stat.S_IMODE(os.stat(key.path).st_mode) == 0o600, name
        assert key.txt == f"v=DKIM1; k={key.kind}; p={key.p}"
    ed = dkim_keys["ed25519"]
    assert len(base64.b64decode(ed.p)) == 32
    assert stat.S_IMODE(os.stat(ed.seed_path).st_mode) == 0o600
    assert len(base64.b64decode(ed.dkimpy_private())) == 32
    for bits in (1024, 2048, 4096):
        key = dkim_keys[f"rsa{bits}"]
        out = subprocess.run(["openssl", "pkey", "-in", key.path,
                              "-noout", "-text"], capture_output=True,
                             text=True, check=True)
        assert f"Private-Key: ({bits} bit" in out.stdout
    with pytest.raises(ValueError):
        dkimcheck.make_key(os.path.dirname(ed.path), "rsa", 512)


def test_dkim_rsa_and_ed25519_signatures_pass(dns_server, dkim_keys):
    dns_server.add_zone("example.com",
                        [dkim_keys[k].record(k) for k in dkim_keys])
    msg = MSG
    for name, canon in (("rsa1024", ("simple", "simple")),
                        ("rsa2048", ("relaxed", "simple")),
                        ("rsa4096", ("relaxed", "relaxed")),
                        ("ed25519", ("relaxed", "relaxed"))):
        msg = dkimcheck.sign(msg, dkim_keys[name], "example.com", name,
                             canon=canon) + msg
    res = dkimcheck.verify(msg, dns_server)
    assert dkimcheck.summaries(res) == [
        ("example.com", "ed25519", "ed25519-sha256", "pass", None),
        ("example.com", "rsa4096", "rsa-sha256", "pass", None),
        ("example.com", "rsa2048", "rsa-sha256", "pass", None),
        ("example.com", "rsa1024", "rsa-sha256", "pass", None)]
    assert [(s.c, s.canon, s.keybits) for s in res] == [
        ("relaxed/relaxed", "relaxed/relaxed", 256),
        ("relaxed/relaxed", "relaxed/relaxed", 4096),
        ("relaxed/simple", "relaxed/simple", 2048),
        ("simple/simple", "simple/simple", 1024)]
    assert res[0].h[0] == "from" and res[0].i == "@example.com"
    # Bare LF line ends verify the same.
    assert all(s.ok for s in dkimcheck.verify(msg.replace(b"\r\n", b"\n"),
                                              dns_server.nameserver()))


def test_dkim_altered_body_and_header_fail(dns_server, dkim_keys):
    dns_server.add_zone("example.com", [dkim_keys["rsa2048"].record("r"),
                                        dkim_keys["ed25519"].record("e")])
    msg = MSG
    msg = dkimcheck.sign(msg, dkim_keys["rsa2048"], "example.com", "r") + msg
    msg = dkimcheck.sign(msg, dkim_keys["ed25519"], "example.com", "e") + msg
    body = msg.replace(b"Hello Bob.", b"Hello Eve.")
    assert [(s.s, s.result, s.reason) for s in
            dkimcheck.verify(body, dns_server)] == [
        ("e", "fail", "body hash mismatch"),
        ("r", "fail", "body hash mismatch")]
    head = msg.replace(b"Subject: hello", b"Subject: hullo")
    assert [(s.s, s.result, s.reason) for s in
            dkimcheck.verify(head, dns_server)] == [
        ("e", "fail", "signature mismatch"),
        ("r", "fail", "signature mismatch")]


def test_dkim_key_problems_each_have_their_reason(dns_server, dkim_keys):
    rsa, ed = dkim_keys["rsa1024"], dkim_keys["ed25519"]
    dns_server.add_zone("example.com", [
        rsa.record("good"), ("revoked._domainkey", "TXT", "v=DKIM1; p="),
        ("wrongtype._domainkey", "TXT", ed.txt),
        ("garbage._domainkey", "TXT", "v=DKIM1; k=rsa; p=!!!"),
        ("sha1only._domainkey", "TXT", rsa.txt + "; h=sha1")])

    def verdict(selector, domain="example.com", key=rsa, minkey=1024,
                edit=None):
        sig = dkimcheck.sign(MSG, key, domain, selector)
        if edit:
            sig = edit(sig)
        (res,) = dkimcheck.verify(sig + MSG, dns_server, minkey=minkey)
        return res.result, res.reason

    assert verdict("good") == ("pass", None)
    assert verdict("missing") == ("fail", "no key")
    assert verdict("revoked") == ("fail", "key revoked")
    assert verdict("wrongtype") == ("fail", "key type mismatch")
    assert verdict("garbage") == ("fail", "bad key")
    assert verdict("sha1only") == ("fail", "hash not allowed")
    assert verdict("good", minkey=2048) == ("fail", "key too small")
    # A domain the server does not serve is refused: a lookup error.
    assert verdict("x", domain="unserved.example") == ("fail", "dns error")
    assert verdict("good", edit=lambda s: re.sub(
        rb"(?<= )h=[^;]*;", b"h=to : subject;", s)) == \
        ("fail", "from not signed")
    assert verdict("good", edit=lambda s: s.replace(
        b"a=rsa-sha256", b"a=rsa-sha512")) == ("fail", "bad signature")
    # Key rotation seen at once.
    dns_server.replace_records("example.com", "good._domainkey", "TXT",
                               [dkim_keys["rsa2048"].txt])
    assert verdict("good") == ("fail", "signature mismatch")
    assert dkimcheck.verify(MSG, dns_server) == []


# The milter client against milter_echo.

ECHO_FIRST = ("insert_header", 0, "X-Echo-First", "yes")


def echo_of(result):
    """The value of the X-Echo header milter_echo added."""
    (value,) = [m.value for m in result.modifications
                if m.kind == "add_header" and m.name == "X-Echo"]
    return value


def test_milter_negotiation_reports_actions_steps_and_macros(milter_echo):
    m = milter_echo()
    with mc.MilterClient(m.spec) as c:
        neg = c.negotiation
        assert neg.version == 6
        assert neg.actions == {"ADDHDRS", "CHGHDRS", "CHGBODY", "ADDRCPT",
                               "ADDRCPT_PAR", "DELRCPT", "CHGFROM",
                               "QUARANTINE", "SETSYMLIST"}
        assert neg.steps == set()
        assert neg.macros == {"connect": ["j", "{daemon_name}",
                                          "{client_addr}"],
                              "mail": ["i", "{auth_authen}", "{mail_addr}"],
                              "eob": ["i"]}
        c.quit()
    # An MTA that offers less gets less.
    with mc.MilterClient(m.spec, actions=0x11, protocol=0) as c:
        assert c.negotiation.actions == {"ADDHDRS", "CHGHDRS"}
        assert c.negotiation.macros == {}
        c.quit()


def test_milter_whole_transaction_macros_and_edits(milter_echo):
    m = milter_echo()
    res = mc.send_message(
        m.spec, "alice@example.com", ["bob@example.net"], MSG,
        client_name="client.example", client_addr="192.0.2.7",
        client_port=40000, helo="client.example", mail_args=("SIZE=200",),
        macros={"mail": {"{auth_authen}": "alice", "i": "4AB12"},
                "eob": {"i": "4AB12"}})
    assert res.action == "continue" and res.stage == "eob"
    assert res.delivered
    assert res.mail.action == "continue"
    assert [(r, x.action) for r, x in res.rcpt] == \
        [("bob@example.net", "continue")]
    assert res.progress == 1
    assert [m.astuple() for m in res.modifications] == [
        ECHO_FIRST,
        ("add_header", "X-Echo",
         "rcpts=1 headers=5 body=12 chunks=1 args=1 host=<client.example>"
         " family=<4> client=<192.0.2.7> daemon=<smtpd>"
         " j=<mta.sesgate.test> helo=<client.example>"
         " from=<<alice@example.com>> auth=<alice> i=<4AB12>"
         " subject=<hello>")]
    assert res.header_edits == res.modifications
    assert mc.apply_edits(MSG, res) == (
        b"X-Echo-First: yes\r\n" + MSG.split(b"\r\n\r\n")[0] + b"\r\n"
        b"X-Echo: " + echo_of(res).encode() + b"\r\n\r\nHello Bob.\r\n")


def test_milter_macros_limited_to_the_milters_lists(milter_echo):
    m = milter_echo()
    # {auth_authen} is on the milter's MAIL list; j at MAIL is not, so
    # the client does not send it (the milter keeps the connect one).
    res = mc.send_message(m.spec, "a@example.com", ["b@example.net"], MSG,
                          macros={"connect": {"j": "first.example"},
                                  "mail": {"{auth_authen}": "bob",
                                           "j": "second.example"}})
    assert "j=<first.example>" in echo_of(res)
    assert "auth=<bob>" in echo_of(res)
    assert "i=<>" in echo_of(res)


def test_milter_recipient_reject_with_custom_reply(milter_echo):
    m = milter_echo()
    res = mc.send_message(m.spec, "a@example.com",
                          ["b@example.net", "reject@example.net",
                           ("tempfail@example.net", "NOTIFY=NEVER"),
                           "c@example.net"], MSG)
    assert [(r, x.action, x.text) for r, x in res.rcpt] == [
        ("b@example.net", "continue", None),
        ("reject@example.net", "replycode",
         "550 5.7.1 Recipient refused by milter_echo"),
        ("tempfail@example.net", "replycode",
         "451 4.7.1 Recipient deferred by milter_echo"),
        ("c@example.net", "continue", None)]
    assert [x.verdict for _, x in res.rcpt] == \
        ["continue", "reject", "tempfail", "continue"]
    assert res.rcpt[1][1].code == "550"
    assert res.accepted == ["b@example.net", "c@example.net"]
    assert res.action == "continue"
    assert "rcpts=2 " in echo_of(res)
    # Every recipient refused: no DATA, the message is refused.
    res = mc.send_message(m.spec, "a@example.com", ["reject@example.net"],
                          MSG)
    assert (res.action, res.stage, res.text) == (
        "reject", "rcpt", "550 5.7.1 Recipient refused by milter_echo")
    assert res.modifications == []


def test_milter_tempfail_on_header(milter_echo):
    m = milter_echo()
    msg = b"Subject: x\r\nX-Tempfail: yes\r\nTo: b@example.net\r\n\r\nb\r\n"
    res = mc.send_message(m.spec, "a@example.com", ["b@example.net"], msg)
    assert (res.action, res.stage, res.reply.action) == \
        ("tempfail", "header", "tempfail")
    assert res.modifications == []


def test_milter_refusals_at_connect_mail_and_end(milter_echo):
    m = milter_echo()
    res = mc.send_message(m.spec, "a@example.com", ["b@example.net"], MSG,
                          client_name="tempfail-connect.example")
    assert (res.action, res.stage) == ("tempfail", "connect")
    res = mc.send_message(m.spec, "reject-sender@example.com",
                          ["b@example.net"], MSG)
    assert (res.action, res.stage, res.text) == (
        "reject", "mail", "550 5.7.1 Sender refused by milter_echo")
    res = mc.send_message(m.spec, "a@example.com", ["b@example.net"],
                          b"X-Echo-Do: reject\r\n\r\nbody\r\n")
    assert (res.action, res.stage, res.text) == (
        "reject", "eob", "550 5.7.0 Message refused by milter_echo")
    res = mc.send_message(m.spec, "a@example.com",
                          ["b@example.net", "accept@example.net",
                           "c@example.net"], MSG)
    assert (res.action, res.stage) == ("accept", "rcpt")
    assert res.accepted == ["b@example.net", "accept@example.net",
                            "c@example.net"]
    res = mc.send_message(m.spec, "a@example.com", ["discard@example.net"],
                          MSG)
    assert (res.action, res.stage) == ("discard", "rcpt")


def test_milter_every_modification(milter_echo):
    m = milter_echo()
    msg = (b"From: a@example.com\r\nSubject: hi\r\nX-Echo-Delete: 1\r\n"
           b"X-Echo-Do: subject delete chgfrom addrcpt addrcpt_par\r\n"
           b"X-Echo-Do: delrcpt quarantine replbody\r\n\r\nold body\r\n")
    res = mc.send_message(m.spec, "a@example.com",
                          ["b@example.net", "c@example.net"], msg)
    assert res.action == "continue"
    mods = [x.astuple() for x in res.modifications]
    assert mods[0] == ECHO_FIRST and mods[1][:2] == ("add_header", "X-Echo")
    assert mods[2:] == [
        ("change_header", 1, "Subject", "[echo] hi"),
        ("delete_header", 1, "X-Echo-Delete"),
        ("change_from", "<changed@echo.test>", None),
        ("add_rcpt", "<added@echo.test>", None),
        ("add_rcpt", "<par@echo.test>", "NOTIFY=NEVER"),
        ("del_rcpt", "<b@example.net>"),
        ("quarantine", "held by milter_echo"),
        ("replace_body", b"replaced body\r\n")]
    assert mc.apply_edits(msg, res) == (
        b"X-Echo-First: yes\r\nFrom: a@example.com\r\n"
        b"Subject: [echo] hi\r\n"
        b"X-Echo-Do: subject delete chgfrom addrcpt addrcpt_par\r\n"
        b"X-Echo-Do: delrcpt quarantine replbody\r\n"
        b"X-Echo: " + echo_of(res).encode() + b"\r\n"
        b"\r\nreplaced body\r\n")


def test_apply_edits_indexes():
    msg = b"A: 1\nB: 1\nA: 2\n\nbody\n"
    mods = [mc.Modification("change_header", index=2, name="a",
                            value="two"),
            mc.Modification("insert_header", index=1, name="C",
                            value="x\n\ty"),
            mc.Modification("delete_header", index=1, name="B"),
            mc.Modification("delete_header", index=5, name="B"),
            mc.Modification("change_header", index=3, name="A",
                            value="3"),
            mc.Modification("insert_header", index=99, name="D",
                            value="last")]
    assert mc.apply_edits(msg, mods, eol=None) == \
        b"A: 1\nC: x\n\ty\na: two\nA: 3\nD: last\n\nbody\n"
    assert mc.apply_edits(msg, mods) == \
        b"A: 1\r\nC: x\r\n\ty\r\na: two\r\nA: 3\r\nD: last\r\n\r\nbody\r\n"
    assert mc.apply_edits(msg, [mc.Modification(
        "add_header", name="E", value=" e")], eol=None, leadspc=True) == \
        b"A: 1\nB: 1\nA: 2\nE: e\n\nbody\n"


def test_milter_bare_lf_folded_headers_and_body_chunks(milter_echo):
    m = milter_echo()
    body = b"line\n" + b"x" * 200000 + b"\n"
    msg = b"Subject: first\n\tsecond\n  third\nTo: b@example.net\n\n" + body
    res = mc.send_message(m.spec, "a@example.com", ["b@example.net"], msg)
    echo = echo_of(res)
    # CRLF on the wire: 6 + 200002 bytes; 4 chunks of at most 65535.
    assert "headers=2 body=200008 chunks=4 " in echo
    assert r"subject=<first\n\tsecond\n  third>" in echo
    assert mc.apply_edits(msg, res).endswith(b"\r\n\r\nline\r\n" +
                                             b"x" * 200000 + b"\r\n")


def test_milter_inet_families_and_helo(milter_echo):
    m = milter_echo("inet")
    for family, addr, port, want in (
            ("4", "192.0.2.1", 25, "family=<4> client=<192.0.2.1>"),
            ("6", "2001:db8::1", 25, "family=<6> client=<2001:db8::1>"),
            ("L", "/run/x.sock", 0, "family=<L>"),
            ("U", "", 0, "family=<U>")):
        res = mc.send_message(m.spec, "a@example.com", ["b@example.net"],
                              MSG, family=family, client_addr=addr,
                              client_port=port, helo="helo.example")
        assert res.action == "continue", family
        assert want in echo_of(res), family
        assert "helo=<helo.example>" in echo_of(res)


def test_milter_several_messages_abort_and_quit_nc(milter_echo):
    m = milter_echo()
    with mc.MilterClient(m.spec) as c:
        assert c.connect("one.example", "4", "192.0.2.1", 1).action == \
            "continue"
        assert c.helo("one.example").action == "continue"
        r = c.send_message("reject-sender@example.com", ["b@example.net"],
                           MSG)
        assert r.action == "reject"
        # Abort in the middle of a message, then a whole one.
        assert c.mail("<a@example.com>").action == "continue"
        assert c.rcpt("b@example.net").action == "continue"
        c.abort()
        r = c.send_message("a@example.com", ["b@example.net"], MSG)
        assert "host=<one.example>" in echo_of(r) and "rcpts=1 " in \
            echo_of(r)
        r = c.send_message("a@example.com", ["c@example.net"], MSG)
        assert r.action == "continue"
        # A new SMTP session on the same milter connection.
        c.quit_nc()
        assert c.connect("two.example", "6", "2001:db8::2", 2).action == \
            "continue"
        assert c.unknown("XFOO bar").action == "continue"
        r = c.send_message("a@example.com", ["b@example.net"], MSG)
        assert "host=<two.example> family=<6>" in echo_of(r)
        assert "helo=<>" in echo_of(r)
        c.quit()
    assert [x.stage for x in c.replies][:4] == \
        ["connect", "helo", "mail", "mail"]


def test_milter_skipped_stages_and_no_reply_headers(milter_echo):
    m = milter_echo(flags=["-n"])
    with mc.MilterClient(m.spec) as c:
        assert c.negotiation.steps == {"NOHELO", "NR_HDR"}
        assert c.connect("h.example").action == "continue"
        assert c.helo("h.example").action == "skipped"
        r = c.send_message("a@example.com", ["b@example.net"], MSG)
        assert "headers=5 " in echo_of(r) and "helo=<>" in echo_of(r)
        assert [x.action for x in c.replies if x.stage == "header"] == \
            ["noreply"] * 5
        r = c.send_message("a@example.com", ["b@example.net"],
                           b"X-Tempfail: yes\r\n\r\nbody\r\n")
        assert (r.action, r.stage) == ("tempfail", "eoh")
        c.quit()


def test_milter_header_leading_space(milter_echo):
    m = milter_echo(flags=["-l"])
    msg = b"Subject:  two spaces\r\nX-Echo-Do: subject\r\n\r\nbody\r\n"
    res = mc.send_message(m.spec, "a@example.com", ["b@example.net"], msg)
    assert res.negotiation.steps == {"HDR_LEADSPC"}
    assert "subject=<  two spaces>" in echo_of(res)
    assert echo_of(res).startswith(" rcpts=1 ")
    out = mc.apply_edits(msg, res)
    assert out.startswith(b"X-Echo-First: yes\r\nSubject: [echo] two "
                          b"spaces\r\n")
    assert b"\r\nX-Echo: rcpts=1 " in out


def test_milter_timeouts_and_closed_connections(tmp_path):
    # A listener that accepts and never answers, another that closes.
    silent = socket.socket(socket.AF_UNIX)
    silent.bind(str(tmp_path / "silent.sock"))
    silent.listen(4)
    closing = socket.socket()
    closing.bind(("127.0.0.1", 0))
    closing.listen(4)

    closing.settimeout(5)

    def close_one():
        try:
            conn, _ = closing.accept()
        except OSError:
            return
        conn.close()
    t = threading.Thread(target=close_one, daemon=True)
    t.start()
    try:
        start = time.monotonic()
        with pytest.raises(mc.MilterTimeout):
            mc.MilterClient(f"unix:{tmp_path}/silent.sock", timeout=0.5)
        assert time.monotonic() - start < 3
        port = closing.getsockname()[1]
        with pytest.raises(mc.MilterClosed):
            mc.MilterClient(f"inet:{port}@127.0.0.1", timeout=2)
        with pytest.raises(OSError):
            mc.MilterClient(f"unix:{tmp_path}/nothing.sock")
    finally:
        silent.close()
        closing.close()
        t.join(timeout=5)


def test_milter_killed_mid_session_is_reported(milter_echo_bin, tmp_path):
    m = MilterEcho(milter_echo_bin, tmp_path)
    c = mc.MilterClient(m.spec, timeout=3)
    try:
        assert c.connect("h.example").action == "continue"
        stop_pid(m.proc, signal.SIGKILL)
        with pytest.raises(mc.MilterClosed):
            c.helo("h.example")
    finally:
        c.close()
        m.stop()


def test_milter_edits_then_dkim_verify(milter_echo, dns_server, dkim_keys):
    """The delivered message keeps the signature when the milter only adds
    headers, and breaks it when it changes a signed one."""
    dns_server.add_zone("example.com", [dkim_keys["ed25519"].record("e"),
                                        dkim_keys["rsa2048"].record("r")])
    m = milter_echo()
    for do, want in ((b"", "pass"), (b"X-Echo-Do: subject\r\n", "fail")):
        msg = do + MSG
        for name, sel in (("rsa2048", "r"), ("ed25519", "e")):
            msg = dkimcheck.sign(msg, dkim_keys[name], "example.com", sel,
                                 canon=("simple", "simple"),
                                 headers=["from", "to", "subject"]) + msg
        res = mc.send_message(m.spec, "alice@example.com",
                              ["bob@example.net"], msg)
        delivered = mc.apply_edits(msg, res)
        assert [(s.s, s.result) for s in
                dkimcheck.verify(delivered, dns_server)] == \
            [("e", want), ("r", want)]


def test_milter_changes_limited_to_negotiated_actions(milter_echo):
    # libmilter refuses smfi_chgfrom() when the MTA did not offer it;
    # milter_echo answers that with a tempfail.
    m = milter_echo()
    with mc.MilterClient(m.spec, actions=0x11) as c:
        c.connect("h.example")
        c.helo("h.example")
        r = c.send_message("a@example.com", ["b@example.net"],
                           b"X-Echo-Do: chgfrom\r\n\r\nbody\r\n")
        assert (r.action, r.stage) == ("tempfail", "eob")
        c.quit()


class FakeMilter:
    """A scripted milter on a loopback port for protocol violations that
    libmilter never commits: negotiates `actions`, answers every command
    with "continue" and end of body with `eob` (raw packets)."""

    def __init__(self, actions, eob):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.srv.settimeout(5)
        self.spec = f"inet:{self.srv.getsockname()[1]}@127.0.0.1"
        self.actions, self.eob = actions, eob
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def packet(cmd, data=b""):
        return len(data + b"x").to_bytes(4, "big") + cmd + data

    def serve(self):
        try:
            conn, _ = self.srv.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            f = conn.makefile("rb")
            while True:
                try:
                    head = f.read(4)
                    if len(head) < 4:
                        return
                    pkt = f.read(int.from_bytes(head, "big"))
                except OSError:
                    # The client gave up on a violation: expected.
                    return
                cmd = pkt[:1]
                if cmd == b"O":
                    conn.sendall(self.packet(b"O", (6).to_bytes(4, "big") +
                                             self.actions.to_bytes(4, "big")
                                             + bytes(4)))
                elif cmd == b"E":
                    conn.sendall(self.eob)
                elif cmd not in (b"D", b"A", b"Q"):
                    conn.sendall(self.packet(b"c"))

    def close(self):
        self.srv.close()
        self.thread.join(timeout=5)


def test_milter_client_refuses_what_an_mta_refuses():
    add = FakeMilter.packet(b"h", b"X-A\0v\0")
    cases = (
        # Progress packets are skipped; the edit is kept.
        (0x01, FakeMilter.packet(b"p") + add + FakeMilter.packet(b"c"),
         None),
        # A header added without ADDHDRS negotiated.
        (0x10, add + FakeMilter.packet(b"c"), "without the ADDHDRS"),
        # An unknown packet.
        (0x01, FakeMilter.packet(b"Z") + FakeMilter.packet(b"c"),
         "unexpected packet"),
    )
    for actions, eob, error in cases:
        fake = FakeMilter(actions, eob)
        try:
            if error is None:
                res = mc.send_message(fake.spec, "a@example.com",
                                      ["b@example.net"], MSG, timeout=5)
                assert res.modifications == [("add_header", "X-A", "v")]
                assert res.progress == 1
            else:
                with pytest.raises(mc.MilterError, match=error):
                    mc.send_message(fake.spec, "a@example.com",
                                    ["b@example.net"], MSG, timeout=5)
        finally:
            fake.close()
