"""contrib/sesgate-logsummary on the lines the daemons really write: a
sesgate-policyd answering accept, unverified-sender, suppressed, quota,
and store-error while Redis is away; a sesgate-feedbackd storing a
signed bounce and a complaint, taking a repeat and refusing a forged
and a malformed message; a sesgate-milter signing one message, leaving
one unsigned and refusing one. The same lines in syslog's two forms and
inside the journal, gzipped, cut to a period, and mixed with garbage.
"""
import gzip
import json
import os
import random
import re
import subprocess
import time

import pytest

import dkimcheck
import milterclient as mc
from feedback import FeedbackD, SnsSigner, bounce, complaint
from lab import TOP, MilterD, PolicyD, RedisServer

SCRIPT = os.path.join(TOP, "contrib", "sesgate-logsummary")
REGION = "eu-west-1"
AUTH = {"mail": {"{auth_authen}": "alice"}}


def feedback_traffic(d, redis):
    """A bounce (twice: the second is a repeat), a complaint, a message
    whose signature does not match and one that is not SNS at all."""
    signer = SnsSigner(d / "certs")
    fd = FeedbackD(d / "feedbackd", redis.url, signer.dir)
    try:
        body = signer.notification(bounce(["gone@dest.example"]))
        assert fd.post(body) == (200, "stored")
        assert fd.post(body) == (200, "repeat")
        assert fd.post(signer.notification(complaint(
            ["angry@dest.example"]))) == (200, "stored")
        forged = json.loads(signer.notification(bounce(["x@dest.example"])))
        forged["Message"] = forged["Message"].replace("x@", "y@")
        assert fd.post(json.dumps(forged).encode())[0] == 403
        assert fd.post(b"not json")[0] == 400
    finally:
        fd.stop()
    return fd.log


# sender, recipient, the start of the reply
POLICY_REQUESTS = """\
a@verified.example      r1@dest.example     DUNNO
eve@unverified.example  r1@dest.example     554 5.7.1
a@verified.example      gone@dest.example   550 5.1.1
a@verified.example      r2@dest.example     DUNNO
b@verified.example      r3@dest.example     DUNNO
b@verified.example      r4@dest.example     454 4.7.0
"""


def policy_traffic(d, redis):
    """Six recipients against an account quota of three (gone@ is on the
    suppression list since the bounce above), then one while Redis is
    away, and Redis back."""
    pd = PolicyD(d / "policyd", redis.url,
                 policyd={"account_max_24h": "3",
                          "account_max_rate": "unlimited"},
                 glob={"region": REGION})
    try:
        c = pd.connect()
        for line in POLICY_REQUESTS.splitlines():
            sender, rcpt, want = line.split(None, 2)
            got = c.ask(sender=sender, recipient=rcpt,
                        sasl_username="alice")
            assert got.startswith(want), (sender, rcpt, got)
        redis.stop()
        assert c.ask(sender="a@verified.example", recipient="r5@dest.example",
                     sasl_username="alice").startswith("DEFER_IF_PERMIT")
        redis.start()
        deadline = time.monotonic() + 10
        while "reachable again" not in pd.logtext():
            assert time.monotonic() < deadline, pd.logtext()
            time.sleep(0.05)
        c.close()
    finally:
        pd.stop()
    return pd.log


def milter_traffic(d, redis):
    """Signed (signed.example has a key), unsigned (plain.example has
    none) and refused (unverified.example is no identity)."""
    key = dkimcheck.make_key(d / "keys", "ed25519", name="ed")
    m = MilterD(d / "milter", redis.url,
                milter={"dkim_key": [f"signed.example ed1 {key.path}"]},
                glob={"region": REGION})
    try:
        for frm, want in (("alice@signed.example", "continue"),
                          ("bob@plain.example", "continue"),
                          ("eve@unverified.example", "reject")):
            msg = (b"From: " + frm.encode() + b"\r\nTo: r@dest.example\r\n"
                   b"Subject: hello\r\n\r\nHello.\r\n")
            res = mc.send_message(m.spec, frm, ["r@dest.example"], msg,
                                  macros=AUTH)
            assert res.action == want, (frm, res)
    finally:
        m.stop()
    return m.log


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """{daemon: its log file}, the daemons stopped."""
    d = tmp_path_factory.mktemp("logsummary")
    redis = RedisServer(d / "redis")
    try:
        redis.client().sadd("sesgate:identities", "verified.example",
                            "signed.example", "plain.example")
        out = {"feedbackd": feedback_traffic(d, redis)}
        out["policyd"] = policy_traffic(d, redis)
        # Redis came back empty (it keeps nothing on disk here).
        redis.client().sadd("sesgate:identities", "signed.example",
                            "plain.example")
        out["milter"] = milter_traffic(d, redis)
    finally:
        redis.stop()
    return out


@pytest.fixture(scope="module")
def lines(logs):
    """All the lines but empty ones, in the order the daemons ran."""
    text = ""
    for name in ("feedbackd", "policyd", "milter"):
        with open(logs[name]) as f:
            text += f.read()
    return [l for l in text.splitlines() if l.strip()]


def run(*args, stdin=None):
    return subprocess.run(["/usr/bin/python3", SCRIPT] + [str(a)
                                                          for a in args],
                          input=stdin, capture_output=True, timeout=60)


def summary(*args, stdin=None):
    p = run("--json", *args, stdin=stdin)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stderr == b""
    return json.loads(p.stdout)


def write(path, lines):
    with open(path, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    return path


LEVEL = re.compile(r"^(sesgate-[a-z]+\[\d+\]): (?:info|warning|error|"
                   r"debug|fatal): ")


def syslog(lines, stamps):
    """The lines as syslog writes them: its own date and host first, and
    no level."""
    return [f"{s} relay1 " + LEVEL.sub(r"\1: ", l)
            for s, l in zip(stamps, lines)]


def decisions_in(lines):
    """decision= words counted without the script, as a cross-check."""
    got = {}
    for l in lines:
        m = re.search(r" policyd: .* decision=(\S+)", l)
        if m:
            got[m.group(1)] = got.get(m.group(1), 0) + 1
    return got


# -- what the daemons logged -------------------------------------------

def test_policy_decisions(logs):
    s = summary(logs["policyd"])
    p = s["policy"]
    assert p["decisions"] == {"accept": 3, "unverified-sender": 1,
                              "suppressed": 1, "quota": 1, "store-error": 1}
    assert p["levels"] == {"quota": {"account": 1}}
    assert p["refused_senders"] == {
        "unverified-sender": [["<eve@unverified.example>", 1]],
        "suppressed": [["<a@verified.example>", 1]],
        "quota": [["<b@verified.example>", 1]],
        "store-error": [["<a@verified.example>", 1]]}
    assert p["refused_recipients"] == {
        "unverified-sender": [["<r1@dest.example>", 1]],
        "suppressed": [["<gone@dest.example>", 1]],
        "quota": [["<r4@dest.example>", 1]],
        "store-error": [["<r5@dest.example>", 1]]}
    assert s["daemons"] == {"sesgate-policyd": {"started": 1,
                                                "stopped": 1}}
    assert s["redis"] == {"outages": 1, "recovered": 1}
    assert s["errors"]["by_kind"] == {"Redis unavailable": 1}
    assert re.fullmatch(r"sesgate-policyd\[\d+\]: error: redis: 127\.0\.0"
                        r"\.1:\d+ unavailable: .*; answering requests with "
                        r"on_store_error = defer_if_permit until it is "
                        r"back", s["errors"]["first"][0])
    assert (s["warnings"]["count"], s["other"]["count"]) == (0, 0)


def test_feedback(logs):
    s = summary(logs["feedbackd"])
    f = s["feedback"]
    assert (f["stored"], f["repeats"], f["spooled"]) == (2, 1, 0)
    assert f["events"] == {"Bounce/Permanent": 2, "Complaint": 1}
    assert f["suppressed"] == {"BOUNCE": 1, "COMPLAINT": 1}
    assert f["refused"] == {"bad_signature": 1, "not_sns": 1}
    assert f["paused"] == {}
    assert s["warnings"]["by_kind"] == {"refused: bad signature": 1,
                                        "refused: not SNS": 1}
    assert len(s["warnings"]["first"]) == 2
    assert (s["errors"]["count"], s["other"]["count"]) == (0, 0)


def test_milter(logs):
    s = summary(logs["milter"])
    out = s["milter"]["outbound"]
    assert (out["messages"], out["signed"], out["unsigned"],
            out["accepted"]) == (2, 1, 1, 2)
    assert out["signed_by"] == {"signed.example": {"ed1": 1}}
    assert out["unsigned_why"] == {"no DKIM key for the From domain": 1}
    assert out["no_key_domains"] == [["plain.example", 1]]
    assert s["milter"]["refused"] == {"unverified": 1}
    assert s["milter"]["refused_codes"] == {"554 5.7.1": 1}
    assert s["milter"]["inbound"]["messages"] == 0
    assert s["daemons"] == {"sesgate-milter": {"started": 1, "stopped": 1}}
    assert (s["warnings"]["count"], s["errors"]["count"],
            s["other"]["count"]) == (0, 0, 0)


def test_all_files_at_once_and_the_text_report(logs, lines):
    s = summary(logs["feedbackd"], logs["policyd"], logs["milter"])
    assert s["lines"]["read"] == len(lines)
    assert s["lines"]["sesgate"] == s["lines"]["read"]
    assert s["lines"]["undated"] == s["lines"]["read"]
    assert s["period"] == {"first": None, "last": None}
    assert s["policy"]["decisions"]["accept"] == 3
    assert s["feedback"]["stored"] == 2
    assert s["milter"]["outbound"]["signed"] == 1
    assert s["other"]["count"] == 0
    p = run(logs["feedbackd"], logs["policyd"], logs["milter"])
    assert p.returncode == 0, p.stderr.decode()
    text = p.stdout.decode().splitlines()
    for want in ["Period: no dated lines",
                 "Policy decisions",
                 "        3  accept",
                 "        1  quota (account 1)",
                 "          1  <eve@unverified.example>",
                 "  2 messages passed: 1 signed, 1 unsigned; 0 tempfail",
                 "          1  signed.example s=ed1",
                 "          1  plain.example",
                 "        1  unverified",
                 "  stored 2, repeats 1, spooled while Redis was away 0",
                 "  events: Bounce/Permanent 2, Complaint 1",
                 "  refused: bad_signature 1, not_sns 1",
                 "  suppressions added: BOUNCE 1, COMPLAINT 1",
                 "  paused by reputation: (none)",
                 "  1 outages, 1 recoveries",
                 "Errors: 1",
                 "Warnings: 2",
                 "Other lines: 0"]:
        assert want in text, want
    assert max(len(l) for l in text) <= 80


def test_top_cuts_the_lists(logs, tmp_path):
    """--top 1 keeps one refused sender of a decision with two."""
    many = open(logs["policyd"]).read().splitlines()
    twice = [l.replace("eve@unverified.example", "mallory@unverified."
                       "example") for l in many if "unverified-sender" in l]
    path = write(tmp_path / "top.log", many + twice + twice)
    s = summary("--top", "1", path)
    assert s["policy"]["refused_senders"]["unverified-sender"] == [
        ["<mallory@unverified.example>", 2]]
    assert s["policy"]["decisions"]["unverified-sender"] == 3


# -- the forms of the lines --------------------------------------------

def test_syslog_forms_give_the_same_counts(logs, lines, tmp_path):
    """Traditional syslog (no year, no level), RFC 3339, and the -f form
    inside the journal's own prefix count the same as the daemon's
    -f lines."""
    want = summary(logs["feedbackd"], logs["policyd"], logs["milter"])
    n = len(lines)
    trad = write(tmp_path / "mail.log", syslog(
        lines, [f"Dec  2 10:{i // 60 % 60:02d}:{i % 60:02d}"
                for i in range(n)]))
    rfc = write(tmp_path / "rfc.log", syslog(
        lines, [f"2026-12-02T10:{i // 60 % 60:02d}:{i % 60:02d}.123456"
                "+00:00" for i in range(n)]))
    journal = write(tmp_path / "journal.log", [
        "Dec 02 10:00:00 relay1 " + l.split(": ", 1)[0] + ": " + l
        for l in lines])
    for path in (trad, rfc, journal):
        got = summary("--year", "2026", path)
        for part in ("policy", "milter", "feedback", "redis"):
            assert got[part] == want[part], (path, part)
        assert got["warnings"]["by_kind"] == want["warnings"]["by_kind"]
        assert got["other"]["count"] == 0
        assert got["lines"]["undated"] == 0
    got = summary("--year", "2026", trad)
    assert got["period"] == {"first": "2026-12-02 10:00:00",
                             "last": "2026-12-02 10:%02d:%02d"
                             % ((n - 1) // 60 % 60, (n - 1) % 60)}


def test_other_programs_are_skipped(logs, lines, tmp_path):
    postfix = ["Dec  2 10:00:00 relay1 postfix/smtpd[77]: connect from "
               "localhost[127.0.0.1]",
               "Dec  2 10:00:00 relay1 postfix/cleanup[78]: 4Y7K2c0hTz: "
               "message-id=<1@x>"]
    path = write(tmp_path / "mail.log", postfix + syslog(
        lines, ["Dec  2 10:00:01"] * len(lines)))
    s = summary("--year", "2026", path)
    assert s["lines"]["other_programs"] == 2
    assert s["other"]["count"] == 0
    assert s["policy"]["decisions"]["accept"] == 3


def test_gzip_and_stdin(logs, tmp_path):
    plain = summary(logs["policyd"])
    gz = tmp_path / "policyd.log.gz"
    with open(logs["policyd"], "rb") as f, gzip.open(gz, "wb") as g:
        g.write(f.read())
    assert summary(gz) == plain
    renamed = tmp_path / "policyd.old"
    os.rename(gz, renamed)
    assert summary(renamed) == plain
    with open(renamed, "rb") as f:
        assert summary(stdin=f.read()) == plain
    with open(logs["policyd"], "rb") as f:
        assert summary("-", stdin=f.read()) == plain


def test_since_and_until(logs, tmp_path):
    """The policyd's lines spread over three days: a day, a day and
    after, up to a day, and a time within a day."""
    lines = open(logs["policyd"]).read().splitlines()
    days = [1 + i % 3 for i in range(len(lines))]
    path = write(tmp_path / "mail.log", syslog(
        lines, [f"Dec  {d} 10:00:{i % 60:02d}"
                for i, d in enumerate(days)]))

    def on(pick):
        return decisions_in([l for l, d in zip(lines, days) if pick(d)])

    cases = [(("--since", "2026-12-02", "--until", "2026-12-02"),
              lambda d: d == 2),
             (("--since", "2026-12-02"), lambda d: d >= 2),
             (("--until", "2026-12-01"), lambda d: d == 1),
             (("--since", "2026-12-03T00:00", "--until",
               "2026-12-03T23:59:59"), lambda d: d == 3)]
    for args, pick in cases:
        s = summary("--year", "2026", *args, path)
        assert s["policy"]["decisions"] == on(pick), args
        assert s["lines"]["outside_period"] == \
            len([d for d in days if not pick(d)]), args
    s = summary("--year", "2026", "--since", "2026-12-04", path)
    assert s["policy"]["decisions"] == {}
    assert s["period"] == {"first": None, "last": None}
    p = run("--since", "2026-13-01", path)
    assert p.returncode == 2 and b"--since" in p.stderr
    # The -f form has no date: its lines are kept, and the report says so.
    s = summary("--since", "2026-12-04", logs["policyd"])
    assert s["policy"]["decisions"] == decisions_in(lines)
    p = run("--since", "2026-12-04", logs["policyd"])
    assert "Note: %d lines carry no date (the -f form) and were kept " \
        "whatever the period" % len(lines) in p.stdout.decode()


# -- what is not a log line --------------------------------------------

def test_garbage_is_counted_not_fatal(logs, tmp_path):
    """Random bytes (no line break, no ': ' in them), lines cut short, a
    NUL, a line far too long: all counted as other lines, the good lines
    still counted, exit 0."""
    rnd = random.Random(7)
    alphabet = bytes(range(0x80, 0x100)) + bytes(range(1, 9))
    garbage = [bytes(rnd.choice(alphabet) for _ in range(rnd.randint(1, 300)))
               for _ in range(20)]
    good = open(logs["policyd"], "rb").read().splitlines()
    cut = [l[:len(l) // 2] for l in good if b"decision=" in l]
    data = b"\n".join(garbage + cut + [b"\x00\x00", b"x" * 70000] + good)
    path = tmp_path / "garbage.log"
    path.write_bytes(data[:-7])       # the last line cut as well
    s = summary(path)
    assert s["other"]["count"] == len(garbage) + len(cut) + 2 + 1
    assert len(s["other"]["first"]) == 5
    assert s["policy"]["decisions"]["accept"] == 3
    p = run(path)
    assert p.returncode == 0
    assert "Other lines: %d" % s["other"]["count"] in \
        p.stdout.decode().splitlines()


def test_damaged_gzip_is_an_error(tmp_path):
    path = tmp_path / "mail.log.gz"
    rnd = random.Random(3)
    text = "".join("%x\n" % rnd.getrandbits(64) for _ in range(1000))
    path.write_bytes(gzip.compress(text.encode())[:1000])
    p = run(path)
    assert p.returncode == 1 and p.stdout == b""
    assert p.stderr.decode().startswith(f"sesgate-logsummary: {path}: ")


def test_missing_file(logs, tmp_path):
    missing = tmp_path / "no-such.log"
    p = run(logs["policyd"], missing)
    assert p.returncode == 1
    assert p.stdout == b""
    assert p.stderr.decode() == \
        f"sesgate-logsummary: {missing}: No such file or directory\n"


def test_help():
    p = run("--help")
    assert p.returncode == 0
    text = p.stdout.decode()
    for want in ("--since", "--until", "--top", "--json", "--year",
                 "other lines", "mail.log"):
        assert want in text, want
    assert os.access(SCRIPT, os.X_OK)
    with open(SCRIPT) as f:
        assert f.readline() == "#!/usr/bin/python3\n"
