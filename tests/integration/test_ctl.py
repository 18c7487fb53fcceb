"""sesgatectl against a private Redis: every command in human and --json
form, the exact Redis contents after each change, bulk import and export in
both of SES's forms, bad input, privacy mode, Redis down, bad config, and
that what it writes is what sesgate-policyd reads.
"""
import calendar
import hashlib
import hmac
import json
import os
import subprocess
import time

import pytest

from conftest import SESGATECTL, write_conf

EX_OK, EX_USAGE, EX_DATAERR, EX_NOINPUT = 0, 64, 65, 66
EX_UNAVAILABLE, EX_TEMPFAIL, EX_CONFIG = 69, 75, 78
P = "sesgate:"


class Ctl:
    """Runs sesgatectl with its own sesgate.conf."""

    def __init__(self, tmp_path, redis_url, redis=None, policyd=None,
                 glob=None, name="sesgate.conf"):
        red = {"url": redis_url}
        red.update(redis or {})
        sections = {"global": glob or {}, "redis": red,
                    "policyd": policyd or {}}
        self.conf = write_conf(tmp_path / name, sections)

    def __call__(self, *args, input=None, json_out=False):
        argv = [SESGATECTL, "-c", self.conf]
        if json_out:
            argv.append("--json")
        return subprocess.run(argv + list(args), input=input,
                              capture_output=True, text=True, timeout=60)

    def ok(self, *args, **kw):
        r = self(*args, **kw)
        assert r.returncode == EX_OK, (args, r.returncode, r.stderr)
        return r.stdout

    def json(self, *args, **kw):
        out = self.ok(*args, json_out=True, **kw)
        return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def ctl(tmp_path, redis_server):
    return Ctl(tmp_path, redis_server.url)


@pytest.fixture
def r(redis_server):
    return redis_server.client()


def supp_keys(r):
    return sorted(k for k in r.keys(P + "*")
                  if k.startswith(P + "suppress"))


# -- identities -----------------------------------------------------------

def test_identity_add_list_remove(ctl, r):
    assert ctl.ok("identity", "add", "Example.COM.") == \
        "verified: example.com\n"
    assert ctl.ok("identity", "add", "<Bob@Example.org>") == \
        "verified: bob@example.org\n"
    assert ctl.ok("identity", "add", "example.com") == \
        "already verified: example.com\n"
    assert r.smembers(P + "identities") == {"example.com",
                                             "bob@example.org"}
    assert ctl.ok("identity", "list") == (
        "IDENTITY         KIND\n"
        "bob@example.org  address\n"
        "example.com      domain\n")
    assert ctl.json("identity", "list") == [
        {"identity": "bob@example.org", "kind": "address"},
        {"identity": "example.com", "kind": "domain"}]
    assert ctl.json("identity", "remove", "BOB@example.org") == [
        {"identity": "bob@example.org", "changed": True}]
    assert ctl.ok("identity", "remove", "bob@example.org") == \
        "was not verified: bob@example.org\n"
    assert r.smembers(P + "identities") == {"example.com"}


@pytest.mark.parametrize("bad", ["exa mple.com", 'a"b@example.com',
                                 "*", "a*@example.com", "x@y\nz.com",
                                 "", "@example.com", "a..b"])
def test_identity_bad_input_is_refused(ctl, r, bad):
    res = ctl("identity", "add", bad)
    assert res.returncode == EX_DATAERR
    assert "is neither an address (user@example.com) nor a domain" in \
        res.stderr
    assert res.stdout == ""
    assert r.keys("*") == []


# -- suppression list: one entry ------------------------------------------

def test_suppression_add_get_remove(ctl, r):
    before = int(time.time())
    assert ctl.ok("suppression", "add", " <Bob@Example.COM> ", "bounce") \
        == "suppressed bob@example.com (BOUNCE)\n"
    after = int(time.time())
    h = r.hgetall(P + "suppression:bob@example.com")
    assert set(h) == {"reason", "time", "source"}
    assert h["reason"] == "BOUNCE" and h["source"] == "admin"
    assert before <= int(h["time"]) <= after
    assert r.ttl(P + "suppression:bob@example.com") == -1
    assert r.zrange(P + "suppressed", 0, -1, withscores=True) == \
        [("bob@example.com", float(h["time"]))]
    assert supp_keys(r) == [P + "suppressed", P + "suppression:bob@example.com"]

    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(h["time"])))
    assert ctl.ok("suppression", "get", "BOB@example.com") == (
        "address: bob@example.com\nreason: BOUNCE\n"
        f"added: {iso}\nsource: admin\nexpires: never\n")
    assert ctl.json("suppression", "get", "bob@example.com") == [
        {"address": "bob@example.com", "reason": "BOUNCE",
         "time": int(h["time"]), "source": "admin", "expires": 0}]

    assert ctl.ok("suppression", "remove", "bob@EXAMPLE.com") == \
        "removed bob@example.com\n"
    assert r.keys("*") == []
    assert ctl.ok("suppression", "remove", "bob@example.com") == \
        "bob@example.com was not on the suppression list\n"
    res = ctl("suppression", "get", "bob@example.com")
    assert res.returncode == EX_NOINPUT
    assert "bob@example.com is not on the suppression list" in res.stderr


def test_suppression_add_with_expiry(ctl, r):
    now = int(time.time())
    ctl.ok("suppression", "add", "c@example.com", "COMPLAINT",
           "--expires", "30d")
    h = r.hgetall(P + "suppression:c@example.com")
    exp = int(h["expires"])
    assert now + 30 * 86400 <= exp <= int(time.time()) + 30 * 86400 + 1
    assert 30 * 86400 - 5 <= r.ttl(P + "suppression:c@example.com") \
        <= 30 * 86400 + 1
    ctl.ok("suppression", "add", "d@example.com", "BOUNCE",
           "--expires", "2099-01-31")
    want = calendar.timegm((2099, 1, 31, 0, 0, 0))
    assert r.hget(P + "suppression:d@example.com", "expires") == str(want)
    assert r.expiretime(P + "suppression:d@example.com") == want
    for bad in ("2001-01-01", "soon", "2099-02-30", "0s"):
        res = ctl("suppression", "add", "e@example.com", "BOUNCE",
                  "--expires", bad)
        assert res.returncode == EX_DATAERR, bad
    assert not r.exists(P + "suppression:e@example.com")


def test_suppression_add_bad_input(ctl, r):
    cases = [("nobody", "BOUNCE", '"nobody" is not an e-mail address'),
             ("a\n@example.com", "BOUNCE",
              '"a?@example.com" is not an e-mail address'),
             ("a@example.com", "SPAM",
              'reason "SPAM": want BOUNCE or COMPLAINT'),
             ("x" * 400 + "@example.com", "BOUNCE", "is not an e-mail")]
    for addr, reason, msg in cases:
        res = ctl("suppression", "add", addr, reason)
        assert res.returncode == EX_DATAERR, addr
        assert msg in res.stderr
    assert r.keys("*") == []


def test_suppression_odd_addresses_stay_in_their_own_key(ctl, r):
    # A '*' or a space is part of the address: its entry is its own key,
    # and a pattern never reaches another address's entry.
    ctl.ok("suppression", "add", "ab@example.com", "BOUNCE")
    ctl.ok("suppression", "add", "a*@example.com", "COMPLAINT")
    ctl.ok("suppression", "add", '"a b"@example.com', "BOUNCE")
    assert supp_keys(r) == [P + "suppressed",
                            P + 'suppression:"a b"@example.com',
                            P + "suppression:a*@example.com",
                            P + "suppression:ab@example.com"]
    assert r.hget(P + "suppression:ab@example.com", "reason") == "BOUNCE"
    ctl.ok("suppression", "remove", "a*@example.com")
    assert r.hget(P + "suppression:ab@example.com", "reason") == "BOUNCE"
    assert sorted(r.zrange(P + "suppressed", 0, -1)) == \
        ['"a b"@example.com', "ab@example.com"]


def test_suppression_written_by_ctl_is_read_by_policyd(ctl, r,
                                                       policyd_factory):
    r.sadd(P + "identities", "verified.example")
    ctl.ok("suppression", "add", "Gone@Dest.Example", "BOUNCE")
    t = int(r.hget(P + "suppression:gone@dest.example", "time"))
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    pd = policyd_factory()
    c = pd.connect()
    try:
        # The reply's wording belongs to sesgate-policyd's own tests; here,
        # that the entry is found under its normalised address.
        reply = c.ask(sender="a@verified.example",
                      recipient="<GONE@dest.example>")
        assert reply.startswith("550 5.1.1 "), reply
        assert reply.endswith(
            f"suppression list (reason BOUNCE, since {iso})"), reply
        ctl.ok("suppression", "remove", "gone@dest.example")
        assert c.ask(sender="a@verified.example",
                     recipient="gone@dest.example") == "DUNNO"
    finally:
        c.close()


# -- suppression list: listing --------------------------------------------

def put_entry(r, addr, reason, t, source="feedback", **extra):
    r.hset(P + f"suppression:{addr}",
           mapping=dict(reason=reason, time=t, source=source, **extra))
    r.zadd(P + "suppressed", {addr: t})


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def test_suppression_list_filters_and_order(ctl, r):
    t1 = calendar.timegm((2026, 1, 30, 12, 0, 0))
    t2 = calendar.timegm((2026, 1, 31, 0, 0, 0))
    t3 = calendar.timegm((2026, 2, 1, 8, 30, 0))
    put_entry(r, "c@x.example", "COMPLAINT", t3, feedback_type="abuse")
    put_entry(r, "a@x.example", "BOUNCE", t1, bounce_type="Permanent",
              bounce_subtype="General", diagnostic="550 5.1.1 no such user")
    put_entry(r, "b@x.example", "COMPLAINT", t2, source="import")
    assert ctl.ok("suppression", "list") == (
        "ADDRESS      REASON     ADDED                 SOURCE    EXPIRES\n"
        f"a@x.example  BOUNCE     {iso(t1)}  feedback  never\n"
        f"b@x.example  COMPLAINT  {iso(t2)}  import    never\n"
        f"c@x.example  COMPLAINT  {iso(t3)}  feedback  never\n")
    assert ctl.json("suppression", "list") == [
        {"address": "a@x.example", "reason": "BOUNCE", "time": t1,
         "source": "feedback", "expires": 0, "bounce_type": "Permanent",
         "bounce_subtype": "General", "diagnostic": "550 5.1.1 no such user"},
        {"address": "b@x.example", "reason": "COMPLAINT", "time": t2,
         "source": "import", "expires": 0},
        {"address": "c@x.example", "reason": "COMPLAINT", "time": t3,
         "source": "feedback", "expires": 0, "feedback_type": "abuse"}]

    def addrs(*args):
        return [e["address"] for e in ctl.json("suppression", "list", *args)]
    assert addrs("--reason", "complaint") == ["b@x.example", "c@x.example"]
    assert addrs("--reason", "BOUNCE") == ["a@x.example"]
    assert addrs("--since", "2026-01-31") == ["b@x.example", "c@x.example"]
    assert addrs("--until", "2026-01-31") == ["a@x.example"]
    assert addrs("--since", "2026-01-30T12:00:01Z",
                 "--until", str(t3)) == ["b@x.example"]
    assert addrs("--since", str(t3)) == ["c@x.example"]
    assert addrs("--reason", "BOUNCE", "--since", "2026-01-31") == []
    for bad in (["--reason", "SPAM"], ["--since", "yesterday"],
                ["--until", "2026-13-01"]):
        res = ctl("suppression", "list", *bad)
        assert res.returncode == EX_DATAERR, bad


def test_suppression_list_skips_and_removes_stale_members(ctl, r):
    put_entry(r, "live@x.example", "BOUNCE", 1700000000)
    r.zadd(P + "suppressed", {"expired@x.example": 1600000000})
    assert [e["address"] for e in ctl.json("suppression", "list")] == \
        ["live@x.example"]
    assert r.zrange(P + "suppressed", 0, -1) == ["live@x.example"]


def test_suppression_list_pages_through_many(ctl, r):
    pipe = r.pipeline()
    for i in range(1203):
        pipe.hset(P + f"suppression:u{i:04d}@x.example",
                  mapping={"reason": "BOUNCE", "time": 1700000000 + i,
                           "source": "import"})
        pipe.zadd(P + "suppressed", {f"u{i:04d}@x.example": 1700000000 + i})
    pipe.execute()
    got = [e["address"] for e in ctl.json("suppression", "list")]
    assert got == [f"u{i:04d}@x.example" for i in range(1203)]


# -- suppression list: import and export -----------------------------------

def entries(r):
    """{member: reason} of every indexed entry."""
    return {m: r.hget(P + f"suppression:{m}", "reason")
            for m in r.zrange(P + "suppressed", 0, -1)}


def test_import_csv_with_header_crlf_and_bad_lines(ctl, r, tmp_path):
    f = tmp_path / "in.csv"
    f.write_bytes(b"emailAddress,reason\r\n"
                  b"One@Example.com,BOUNCE\r\n"
                  b"\r\n"
                  b"two@example.com , complaint\r\n"
                  b"not-an-address,BOUNCE\r\n"
                  b"three@example.com,SPAM\r\n"
                  b"four@example.com\r\n"
                  b"five@example.com,BOUNCE,extra\r\n"
                  b'"six,quoted"@example.com,BOUNCE\r\n'
                  b'"seven,quoted@example.com" ,BOUNCE\r\n'
                  b'"""q""@example.com",COMPLAINT\n')
    res = ctl("suppression", "import", str(f))
    assert res.returncode == EX_DATAERR
    assert res.stdout == "imported 4, failed 5\n"
    errs = res.stderr.splitlines()
    assert errs[:5] == [
        f'{f}:5: "not-an-address" is not an e-mail address (want '
        "local@domain, without control characters, at most 320 characters)",
        f'{f}:6: reason "SPAM": want BOUNCE or COMPLAINT',
        f"{f}:7: want emailAddress,reason",
        f"{f}:8: more than two fields (want emailAddress,reason)",
        f"{f}:9: text after a quoted field"]
    assert "5 line(s) failed" in errs[5]
    assert entries(r) == {"one@example.com": "BOUNCE",
                          "two@example.com": "COMPLAINT",
                          "seven,quoted@example.com": "BOUNCE",
                          '"q"@example.com': "COMPLAINT"}
    h = r.hgetall(P + "suppression:one@example.com")
    assert h["source"] == "import" and set(h) == {"reason", "time", "source"}


def test_import_json_lines_with_escapes_and_bad_lines(ctl, r):
    text = "\n".join([
        '{"emailAddress":"a@example.com","reason":"BOUNCE"}',
        '  { "reason" : "COMPLAINT" , "emailAddress" : "B@Example.com" }  ',
        '{"emailAddress":"\\u0063\\/d@example.com","reason":"BOUNCE"}',
        '{"emailAddress":"\\"e\\\\\\"@example.com","reason":"BOUNCE"}',
        '{"emailAddress":"f\\ud83d\\ude00@example.com","reason":"BOUNCE"}',
        '{"emailAddress":"g@example.com","reason":1}',
        '{"emailAddress":"h@example.com"}',
        '{"emailAddress":"i@example.com","reason":"BOUNCE","x":"y"}',
        '{"emailAddress":"j@example.com","reason":"BOUNCE"} trailing',
        '{"emailAddress":"k\\u0000@example.com","reason":"BOUNCE"}',
        '{"emailAddress":"l\\ud83d@example.com","reason":"BOUNCE"}',
        '["m@example.com","BOUNCE"]',
        '{"emailAddress":"n@example.com","reason":"BOUNCE"',
        '{"emailAddress":"o\\q@example.com","reason":"BOUNCE"}',
        '',
    ]) + "\n"
    res = ctl("suppression", "import", "-", input=text)
    assert res.returncode == EX_DATAERR
    assert res.stdout == "imported 5, failed 9\n"
    assert res.stderr.splitlines()[:9] == [
        '<stdin>:6: the value of "reason" must be a string',
        '<stdin>:7: missing field "reason"',
        '<stdin>:8: unknown field "x" (want emailAddress and reason)',
        "<stdin>:9: text after the object",
        "<stdin>:10: \\u0000 in a string",
        "<stdin>:11: high surrogate without its low half in \\u escape",
        '<stdin>:12: want one JSON object a line, '
        '{"emailAddress":"...","reason":"BOUNCE"}',
        "<stdin>:13: want ',' or '}'",
        '<stdin>:14: bad escape "\\q"']
    assert entries(r) == {"a@example.com": "BOUNCE",
                          "b@example.com": "COMPLAINT",
                          "c/d@example.com": "BOUNCE",
                          '"e\\"@example.com': "BOUNCE",
                          "f\U0001F600@example.com": "BOUNCE"}


def test_import_json_summary_and_missing_file(ctl, tmp_path):
    assert ctl.json("suppression", "import", "-",
                    input='{"emailAddress":"a@b.example","reason":"BOUNCE"}'
                    ) == [{"imported": 1, "failed": 0}]
    res = ctl("suppression", "import", str(tmp_path / "nope.csv"))
    assert res.returncode == EX_NOINPUT
    assert "nope.csv: No such file or directory" in res.stderr


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_import_round_trip(ctl, r, tmp_path, fmt):
    want = {"a@example.com": "BOUNCE", "b@example.com": "COMPLAINT",
            "with,comma@example.com": "BOUNCE",
            '"quoted x"@example.com': "COMPLAINT",
            "back\\slash@example.com": "BOUNCE"}
    for i, (addr, reason) in enumerate(sorted(want.items())):
        put_entry(r, addr, reason, 1700000000 + i)
    out = tmp_path / f"list.{fmt}"
    assert ctl.ok("suppression", "export", str(out), "--format", fmt) == \
        f"exported 5 to {out}\n"
    lines = out.read_text().splitlines()
    assert len(lines) == 5
    if fmt == "csv":
        assert lines[0] == '"""quoted x""@example.com",COMPLAINT'
        assert "a@example.com,BOUNCE" in lines
    else:
        assert json.loads(lines[0]) == {
            "emailAddress": '"quoted x"@example.com', "reason": "COMPLAINT"}
    # stdout form equals the file
    assert ctl.ok("suppression", "export", "--format", fmt) == \
        out.read_text()
    r.flushdb()
    assert ctl.ok("suppression", "import", str(out)) == \
        "imported 5, failed 0\n"
    assert entries(r) == want


def test_export_defaults_to_csv_on_stdout(ctl, r):
    put_entry(r, "a@example.com", "BOUNCE", 1700000000)
    put_entry(r, "b@example.com", "COMPLAINT", 1700000001)
    assert ctl.ok("suppression", "export") == \
        "a@example.com,BOUNCE\nb@example.com,COMPLAINT\n"
    assert ctl.ok("suppression", "export", "-", "--format=json") == (
        '{"emailAddress":"a@example.com","reason":"BOUNCE"}\n'
        '{"emailAddress":"b@example.com","reason":"COMPLAINT"}\n')
    res = ctl("suppression", "export", "--format", "xml")
    assert res.returncode == EX_USAGE


# -- privacy mode ---------------------------------------------------------

def test_privacy_mode_hashes_members(tmp_path, redis_server, r):
    key = "s3cret-key"
    ctl = Ctl(tmp_path, redis_server.url,
              redis={"suppression_hash_key": key})

    def h(addr):
        return hmac.new(key.encode(), addr.encode(),
                        hashlib.sha256).hexdigest()
    ctl.ok("suppression", "add", "Alice@Example.com", "BOUNCE")
    ha = h("alice@example.com")
    assert supp_keys(r) == [P + "suppressed", P + f"suppression:{ha}"]
    assert r.zrange(P + "suppressed", 0, -1) == [ha]
    assert "alice" not in "".join(r.keys("*"))
    got = ctl.json("suppression", "get", "alice@example.com")
    assert got[0]["hash"] == ha and got[0]["reason"] == "BOUNCE"
    assert ctl.ok("suppression", "list").splitlines()[1].startswith(ha)
    assert ctl.ok("suppression", "export") == f"{ha},BOUNCE\n"
    # import takes addresses (and the hashes export wrote)
    assert ctl.ok("suppression", "import", "-",
                  input=f"bob@example.com,COMPLAINT\n{ha},BOUNCE\n") == \
        "imported 2, failed 0\n"
    assert entries(r) == {ha: "BOUNCE", h("bob@example.com"): "COMPLAINT"}
    assert ctl.ok("suppression", "remove", "ALICE@example.com") == \
        f"removed {ha}\n"
    assert entries(r) == {h("bob@example.com"): "COMPLAINT"}


# -- pauses ---------------------------------------------------------------

def test_pause_resume_status(ctl, r):
    assert ctl.ok("status") == (
        "region: us-east-1\nsandbox: no\n"
        "bounce rate: 0.00% (0 of 0 recipients in 1d)\n"
        "complaint rate: 0.00% (0)\nreputation: low volume\n"
        "sending: not paused\n")
    assert ctl.ok("pause", "--reason", "bounce rate 10%") == \
        "paused account until resumed: bounce rate 10%\n"
    assert r.get(P + "pause:account") == "bounce rate 10%"
    assert r.ttl(P + "pause:account") == -1
    assert ctl.ok("pause", "sender", "Alice@Example.COM", "--for", "2h") == \
        "paused sender alice@example.com for 2h: paused by the " \
        "administrator\n"
    assert r.get(P + "pause:sender:alice@example.com") == \
        "paused by the administrator"
    assert 7190 <= r.ttl(P + "pause:sender:alice@example.com") <= 7200
    ctl.ok("pause", "domain", "Example.ORG", "--reason=review",
           "--for=90m")
    ctl.ok("pause", "sender", "saslUser")
    assert sorted(r.keys(P + "pause:*")) == [
        P + "pause:account", P + "pause:domain:example.org",
        P + "pause:sender:alice@example.com", P + "pause:sender:saslUser"]
    lines = ctl.ok("status").splitlines()
    del lines[2:5]      # the reputation lines
    assert lines[:4] == ["region: us-east-1", "sandbox: no", "paused:",
                         "LEVEL    ID                 REMAINING      REASON"]
    assert lines[4] == "account  -                  until resumed  " \
        "bounce rate 10%"
    assert lines[5].startswith("domain   example.org        1h29m") or \
        lines[5].startswith("domain   example.org        1h30m")
    assert lines[5].endswith("review")
    assert lines[7] == "sender   saslUser           until resumed  " \
        "paused by the administrator"
    js = ctl.json("status")
    assert js[0] == {"region": "us-east-1", "sandbox": False, "pauses": 4,
                     "sends": 0, "bounces": 0, "complaints": 0,
                     "bounce_rate": "0.00", "complaint_rate": "0.00",
                     "reputation": "low volume"}
    assert [(p["level"], p["id"]) for p in js[1:]] == [
        ("account", ""), ("domain", "example.org"),
        ("sender", "alice@example.com"), ("sender", "saslUser")]
    assert js[1]["remaining_ms"] == -1
    assert 0 < js[2]["remaining_ms"] <= 90 * 60000

    assert ctl.ok("resume") == "resumed account\n"
    assert ctl.ok("resume") == "account was not paused\n"
    assert ctl.json("resume", "sender", "ALICE@example.com") == [
        {"level": "sender", "id": "alice@example.com", "changed": True}]
    assert sorted(r.keys(P + "pause:*")) == [
        P + "pause:domain:example.org", P + "pause:sender:saslUser"]


def test_pause_bad_input(ctl, r):
    for args, code, msg in [
            (["pause", "--for", "soon"], EX_DATAERR, '--for "soon"'),
            (["pause", "sender", "a b"], EX_DATAERR, "not a usable sender"),
            (["pause", "sender", "x*"], EX_DATAERR, "not a usable sender"),
            (["pause", "domain", "bad_domain!"], EX_DATAERR,
             "is not a domain name"),
            (["pause", "--reason", "two\nlines"], EX_DATAERR,
             "one line of text"),
            (["pause", "galaxy"], EX_USAGE, '"galaxy" is not a level'),
            (["pause", "sender"], EX_USAGE, "sender wants a sender ID"),
            (["pause", "account", "extra"], EX_USAGE,
             'unexpected argument "extra"'),
            (["pause", "--until", "x"], EX_USAGE, 'unknown option')]:
        res = ctl(*args)
        assert res.returncode == code, args
        assert msg in res.stderr, (args, res.stderr)
    assert r.keys("*") == []


def test_pause_is_read_by_policyd(ctl, r, policyd_factory):
    r.sadd(P + "identities", "verified.example")
    pd = policyd_factory()
    c = pd.connect()
    try:
        ctl.ok("pause", "domain", "verified.example", "--reason", "review")
        reply = c.ask(sender="a@verified.example",
                      recipient="x@dest.example")
        assert reply.startswith("454 4.7.0 "), reply
        assert reply.endswith("domain verified.example: review"), reply
        ctl.ok("resume", "domain", "verified.example")
        assert c.ask(sender="a@verified.example",
                     recipient="x@dest.example") == "DUNNO"
    finally:
        c.close()


# -- quotas ---------------------------------------------------------------

def test_quota_set_show(ctl, r):
    assert ctl.ok("quota", "show", "account") == (
        "LEVEL    ID  FIELD     VALUE                   SOURCE\n"
        "account  -   max_24h   50000                   config\n"
        "account  -   max_rate  14                      config\n"
        "account  -   burst     0 (one second's worth)  config\n")
    assert ctl.ok("quota", "set", "sender", "Alice", "max_24h", "100") == (
        "LEVEL   ID     FIELD    VALUE  SOURCE\n"
        "sender  Alice  max_24h  100    override\n")
    assert r.hgetall(P + "limits:sender:Alice") == {"max_24h": "100"}
    ctl.ok("quota", "set", "sender", "Alice", "max_rate", "0.5")
    ctl.ok("quota", "set", "sender", "Alice", "burst", "5")
    assert r.hgetall(P + "limits:sender:Alice") == {
        "max_24h": "100", "max_rate": "0.5", "burst": "5"}
    ctl.ok("quota", "set", "domain", "Example.COM", "max_24h", "unlimited")
    ctl.ok("quota", "set", "domain", "example.com", "max_rate", "UNLIMITED")
    assert r.hgetall(P + "limits:domain:example.com") == {
        "max_24h": "-1", "max_rate": "-1"}
    assert ctl.json("quota", "show", "domain", "example.com") == [
        {"level": "domain", "id": "example.com", "field": "max_24h",
         "value": -1, "source": "override"},
        {"level": "domain", "id": "example.com", "field": "max_rate",
         "value": -1, "source": "override"},
        {"level": "domain", "id": "example.com", "field": "burst",
         "value": 0, "source": "config"}]
    ctl.ok("quota", "set", "sender", "Alice", "max_24h", "default")
    assert r.hgetall(P + "limits:sender:Alice") == {
        "max_rate": "0.5", "burst": "5"}
    assert ctl.json("quota", "show", "sender", "Alice")[0] == {
        "level": "sender", "id": "Alice", "field": "max_24h", "value": -1,
        "source": "config"}


def test_quota_show_uses_sandbox_limits(tmp_path, redis_server):
    ctl = Ctl(tmp_path, redis_server.url, policyd={"sandbox": "yes"})
    got = {e["field"]: e["value"] for e in ctl.json("quota", "show",
                                                    "account")}
    assert got == {"max_24h": 200, "max_rate": 1, "burst": 0}
    assert "sandbox: yes" in ctl.ok("status")


def test_quota_bad_values(ctl, r):
    for args, code, msg in [
            (["max_24h", "-5"], EX_DATAERR, 'max_24h "-5": want a whole'),
            (["max_24h", "1.5"], EX_DATAERR, "want a whole number"),
            (["max_rate", "0"], EX_DATAERR, "0.001 or more"),
            (["max_rate", "fast"], EX_DATAERR, 'max_rate "fast"'),
            (["burst", "unlimited"], EX_DATAERR, 'burst "unlimited"'),
            (["speed", "1"], EX_USAGE, '"speed" is not a limit'),
            (["max_24h"], EX_USAGE, "missing arguments"),
            (["max_24h", "1", "2"], EX_USAGE, "too many arguments")]:
        res = ctl("quota", "set", "account", *args)
        assert res.returncode == code, args
        assert msg in res.stderr, (args, res.stderr)
        if code == EX_USAGE:
            assert "usage: sesgatectl [-c FILE] [--json] quota set " \
                "account|domain D|sender ID" in res.stderr
    assert r.keys("*") == []


def test_quota_usage_counts_what_policyd_accepted(ctl, r, policyd_factory,
                                                  policy_usage):
    r.sadd(P + "identities", "verified.example")
    pd = policyd_factory(policyd={"sender_max_24h": "10"})
    c = pd.connect()
    try:
        for i in range(3):
            assert c.ask(sender="a@verified.example", sasl_username="alice",
                         recipient=f"r{i}@dest.example") == "DUNNO"
    finally:
        c.close()
    assert ctl.json("quota", "usage", "sender", "alice") == [
        {"level": "sender", "id": "alice", "recipients": 3, "max_24h": -1,
         "window_ms": 86400000, "max_rate": -1, "rate_state": False}]
    assert ctl.ok("quota", "usage", "domain", "verified.example") == (
        "LEVEL   ID                RECIPIENTS  MAX_24H    WINDOW  "
        "MAX_RATE   RATE_STATE\n"
        "domain  verified.example  3           unlimited  1d      "
        "unlimited  no\n")
    acct = ctl.json("quota", "usage", "account")[0]
    assert acct["recipients"] == 3 == policy_usage("account")
    assert acct["max_24h"] == 50000 and acct["max_rate"] == 14
    assert acct["rate_state"] is True
    assert ctl.json("quota", "usage", "sender", "nobody")[0][
        "recipients"] == 0


# -- stats ----------------------------------------------------------------

def test_stats(ctl, r):
    r.hset(P + "stats", mapping={"policyd:quota": 2, "policyd:accept": 40})
    assert ctl.ok("stats") == ("COUNTER         VALUE\n"
                               "policyd:accept  40\n"
                               "policyd:quota   2\n")
    assert ctl.json("stats") == [
        {"counter": "policyd:accept", "value": 40},
        {"counter": "policyd:quota", "value": 2}]


# -- usage, Redis down, configuration ------------------------------------

def test_usage_errors(ctl):
    res = ctl()
    assert res.returncode == EX_USAGE
    assert "usage: sesgatectl [-c FILE] [--json] COMMAND" in res.stderr
    assert "name a command" in res.stderr
    res = ctl("frobnicate")
    assert res.returncode == EX_USAGE
    assert 'unknown command "frobnicate"' in res.stderr
    res = ctl("suppression", "drop")
    assert res.returncode == EX_USAGE
    assert "suppression list [--reason BOUNCE|COMPLAINT]" in res.stderr
    assert "identity add" not in res.stderr
    res = ctl("suppression", "add", "a@example.com")
    assert res.returncode == EX_USAGE
    assert "usage: sesgatectl [-c FILE] [--json] suppression add ADDR " \
        "BOUNCE|COMPLAINT [--expires DURATION|DATE]" in res.stderr
    res = ctl("identity", "list", "extra")
    assert res.returncode == EX_USAGE
    help_ = subprocess.run([SESGATECTL, "--help"], capture_output=True,
                           text=True, timeout=30)
    assert help_.returncode == EX_OK
    for line in ("suppression import FILE|-", "identity remove ADDR|DOMAIN",
                 "quota usage account|domain D|sender ID", "status",
                 "resume [account|sender ID|domain D]"):
        assert line in help_.stdout


def test_redis_down(tmp_path, redis_server):
    port = redis_server.port
    ctl = Ctl(tmp_path, f"redis://admin:pa55word@127.0.0.1:{port}/0")
    redis_server.stop()
    for args in (["status"], ["suppression", "list"],
                 ["identity", "add", "example.com"],
                 ["quota", "usage", "account"]):
        res = ctl(*args)
        assert res.returncode == EX_UNAVAILABLE, args
        assert res.stdout == ""
        assert f"cannot reach Redis at redis://admin:***@127.0.0.1:{port}/0" \
            in res.stderr
        assert "Connection refused" in res.stderr
        assert "pa55word" not in res.stderr
    redis_server.start()
    assert ctl("status").returncode == EX_UNAVAILABLE  # AUTH fails: no ACL
    ok = Ctl(tmp_path, redis_server.url, name="ok.conf")
    ok.ok("identity", "add", "example.com")


def test_redis_not_answering(tmp_path, redis_server, r):
    # Connected, but the server answers nothing within [redis] timeout.
    ctl = Ctl(tmp_path, redis_server.url, redis={"timeout": "200ms"})
    r.execute_command("CLIENT", "PAUSE", 5000, "WRITE")
    try:
        res = ctl("identity", "add", "example.com")
    finally:
        redis_server.cli("CLIENT", "UNPAUSE")
    assert res.returncode == EX_TEMPFAIL
    assert res.stderr.startswith(
        f"sesgatectl: Redis at {redis_server.url}: ")
    assert res.stderr.endswith("nothing more was done, try again when it "
                               "answers\n")
    assert "no reply within 200ms ([redis] timeout)" in res.stderr
    # Whether the command sent before the timeout ran once the server
    # came back is up to Redis; sesgatectl works again either way.
    assert ctl.ok("identity", "list") in ("", "IDENTITY     KIND\n"
                                         "example.com  domain\n")


def test_config_errors(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("[redis]\nurl = ftp://nowhere\nbogus = 1\n"
                    "[policyd]\nmax_recipients = lots\n")
    res = subprocess.run([SESGATECTL, "-c", str(conf), "status"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == EX_CONFIG
    assert f"{conf}: configuration errors" in res.stderr
    assert f"{conf}:2: [redis] url" in res.stderr
    assert f"{conf}:3: [redis] bogus: unknown key" in res.stderr
    assert f"{conf}:5: [policyd] max_recipients" in res.stderr
    res = subprocess.run([SESGATECTL, "-c", str(tmp_path / "missing.conf"),
                          "status"], capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == EX_CONFIG
    assert "missing.conf" in res.stderr


def test_sasl_address_paused_and_limited_from_ctl(ctl, r, policyd_factory):
    """A SASL user name that is an address meets the policy service under
    the same normalised key that sesgatectl writes, whatever its case."""
    r.sadd(P + "identities", "example.com")
    ctl.ok("pause", "sender", "Alice@Example.COM", "--reason", "review")
    pd = policyd_factory()
    c = pd.connect()
    ask = dict(sasl_username="ALICE@example.com", sender="a@example.com",
               recipient="r@dest.example")
    assert c.ask(**ask) == ("454 4.7.0 Sending paused for sender "
                            "alice@example.com: review")
    ctl.ok("resume", "sender", "alice@EXAMPLE.com")
    ctl.ok("quota", "set", "sender", "Alice@Example.com", "max_24h", "1")
    assert c.ask(**ask) == "DUNNO"
    assert c.ask(**dict(ask, recipient="s@dest.example")) == (
        "454 4.7.0 Throttling failure: Daily message quota exceeded.")
    c.close()
