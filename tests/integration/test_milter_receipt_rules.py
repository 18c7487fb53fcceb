"""Receipt rules (SES's receipt rule set) in sesgate-milter, behind a
real Postfix: inbound mail (XCLIENT from 192.0.2.0/24, tests/
integration/inbound.py) is matched recipient by recipient against the
[milter] receipt_rule lines, in order, and their actions apply: bounce
refuses the recipient at RCPT, add_header adds a field once per rule,
stop removes the recipient (the whole message when it was the last),
notify appends one entry per rule to a Redis stream.

One lab (NSD, the milter, Postfix, the sink) and one private Redis
serve the module; each test sets its rules with a reload and the
defaults come back after it. Every test has zones and streams of its
own, since the milter's resolver caches what it was told.
"""
import os
import re
import subprocess
import time

import pytest

from inbound import InboundLab, message
from lab import MILTER, RedisServer, free_port

INSIDE = "192.0.2.10"
SPF = "v=spf1 ip4:192.0.2.0/24 -all"
PREFIX = "sesgate:"
EX_CONFIG = 78
TEMPFAIL = ("451 4.3.0 Sending checks cannot be made now; try again "
            "later")
OK = "250 2.1.5 Ok"
# The fields of a notify entry, in order.
FIELDS = ["rule", "recipients", "queue_id", "time", "client_ip", "helo",
          "mail_from", "from", "to", "subject", "message_id", "date",
          "spf", "dkim", "dmarc", "dmarc_policy", "action"]
# The [milter] keys the tests change, as the module runs them.
DEFAULTS = {"receipt_rule": [], "on_store_error": "tempfail",
            "verify_from": "yes"}


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    srv = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, redis):
    lab = InboundLab(tmp_path_factory, milter=dict(DEFAULTS))
    try:
        lab.milter.sections["redis"]["url"] = redis.url
        lab.reconfigure()
        yield lab
    finally:
        lab.close()


@pytest.fixture
def conf(lab, redis):
    """conf(redis_url=None, key=value, ...) reloads the milter with
    [milter] keys (and the Redis URL) changed; the module's settings
    come back after the test."""
    changed = set()

    def apply(redis_url=None, **milter):
        if redis_url is not None:
            lab.milter.sections["redis"]["url"] = redis_url
        changed.update(milter)
        lab.reconfigure(**milter)
    yield apply
    lab.milter.sections["redis"]["url"] = redis.url
    lab.reconfigure(**{k: DEFAULTS[k] for k in changed})


def zone(lab, domain, records=()):
    """Serve `domain` with an SPF record passing INSIDE's network."""
    lab.dns.add_zone(domain, [("@", "TXT", SPF)] + list(records))


def field(msg, name):
    """The value of the first field `name` of msg (bytes from
    message())."""
    m = re.search(rb"^" + name.encode() + rb": (.*)\r$", msg, re.M)
    return m.group(1).decode()


class Sent:
    """One message sent from INSIDE as sender's domain: msg, the
    Outcome (replies, delivery), and the wall-clock window (Unix ms)
    around the transaction."""

    def __init__(self, lab, sender, rcpts, from_hdr=None, subject=None,
                 timeout=20.0, client=INSIDE):
        domain = sender.rpartition("@")[2]
        self.sender = sender
        self.client = client
        self.helo = "mail." + domain
        self.msg = message(from_hdr or f"Sender <{sender}>",
                           to=rcpts[0],
                           subject=subject or f"rules for {domain}")
        self.t0 = int(time.time() * 1000)
        self.out = lab.send(client, self.helo, sender, self.msg,
                            rcpts=rcpts, timeout=timeout)
        self.t1 = int(time.time() * 1000) + 1
        self.sub = self.out.sub
        self.delivery = self.out.delivery

    @property
    def qid(self):
        data = self.sub.data
        assert data.startswith("250 2.0.0 Ok: queued as "), data
        return data.rsplit(" ", 1)[1]

    def entry(self, rule, rcpts, spf="pass", dkim="none", dmarc="none",
              policy="", action="accept"):
        """The notify entry wanted for this message, without time."""
        return {"rule": rule, "recipients": rcpts, "queue_id": self.qid,
                "client_ip": self.client, "helo": self.helo,
                "mail_from": self.sender,
                "from": field(self.msg, "From"),
                "to": field(self.msg, "To"),
                "subject": field(self.msg, "Subject"),
                "message_id": field(self.msg, "Message-ID"),
                "date": field(self.msg, "Date"),
                "spf": spf, "dkim": dkim, "dmarc": dmarc,
                "dmarc_policy": policy, "action": action}


def names(data):
    """The field names of a message's header, in order."""
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    return [line.split(":", 1)[0] for line in head.split("\r\n")
            if line[:1] not in (" ", "\t")]


def entries(redis, stream):
    """The entries of stream `stream`, as field dicts in order."""
    return [fields for _id, fields in
            redis.client().xrange(f"{PREFIX}receipt:{stream}")]


def assert_entries(redis, stream, sent, *want):
    """Stream `stream` holds exactly the entries `want` (from
    Sent.entry), each with every field in order and a time within the
    transaction."""
    got = entries(redis, stream)
    assert len(got) == len(want), got
    for g, w in zip(got, want):
        assert list(g) == FIELDS
        assert sent.t0 <= int(g["time"]) <= sent.t1, (g["time"], sent.t0)
        assert {k: v for k, v in g.items() if k != "time"} == w


def assert_delivered(sent, rcpts):
    assert sent.sub.data.startswith("250 2.0.0 Ok: queued as "), \
        sent.sub.data
    assert sent.delivery is not None, "accepted but not delivered"
    # Postfix's queue manager sorts the recipients.
    assert sorted(sent.delivery.rcpts) == sorted(rcpts)


# Matching.

def test_recipient_forms(lab, redis, conf):
    """An address matches in any case, a domain only itself, a .domain
    only its subdomains; a recipient no rule matches passes untouched."""
    zone(lab, "forms.example")
    conf(receipt_rule=[
        "exact rcpt.exact@m1.forms.example notify forms",
        "dom m2.forms.example notify forms",
        "sub .m3.forms.example notify forms"])
    rcpts = ["RCPT.Exact@M1.Forms.Example", "other@m1.forms.example",
             "x@m2.forms.example", "y@a.m2.forms.example",
             "z@b.m3.forms.example", "w@m3.forms.example",
             "v@deep.b.m3.forms.example"]
    sent = Sent(lab, "a@forms.example", rcpts)
    assert sent.sub.rcpt == [OK] * len(rcpts)
    assert_delivered(sent, rcpts)
    assert_entries(redis, "forms", sent,
                   sent.entry("exact", "RCPT.Exact@M1.Forms.Example"),
                   sent.entry("dom", "x@m2.forms.example"),
                   sent.entry("sub", "z@b.m3.forms.example,"
                              "v@deep.b.m3.forms.example"))

    untouched = ["other@m1.forms.example", "y@a.m2.forms.example",
                 "w@m3.forms.example"]
    plain = Sent(lab, "a@forms.example", untouched)
    assert plain.sub.rcpt == [OK] * 3
    assert_delivered(plain, untouched)
    assert len(entries(redis, "forms")) == 3
    # As sent, under our Authentication-Results and Postfix's Received.
    assert names(plain.delivery.data) == \
        ["Authentication-Results", "Received"] + names(plain.msg)


def test_star_and_first_matching_rule(lab, redis, conf):
    """"*" matches every recipient; of two rules matching one, the
    first to bounce wins."""
    zone(lab, "order.example")
    conf(receipt_rule=[
        "one x@order.example bounce 550 5.7.1 First rule",
        "two x@order.example bounce 550 5.7.2 Second rule",
        "all * add_header X-All: yes; notify star"])
    rcpts = ["x@order.example", "y@any.example", "Z@Order.Example"]
    sent = Sent(lab, "a@order.example", rcpts)
    assert sent.sub.rcpt == ["550 5.7.1 First rule", OK, OK]
    assert_delivered(sent, rcpts[1:])
    assert sent.delivery.headers("X-All") == ["yes"]
    assert_entries(redis, "star", sent,
                   sent.entry("all", "y@any.example,Z@Order.Example"))


# bounce.

def test_bounce_permanent_and_temporary(lab, redis, conf):
    """A 5xx and a 4xx bounce give their exact reply at RCPT; the other
    recipient of the message is delivered, with the later rule."""
    zone(lab, "bounce.example")
    conf(receipt_rule=[
        "gone gone@bounce.example bounce 550 5.1.1 Mailbox does not exist",
        "busy busy@bounce.example bounce 452 4.2.2 Mailbox full, retry",
        "rest bounce.example add_header X-Rest: kept; notify bounce"])
    rcpts = ["gone@bounce.example", "busy@bounce.example",
             "ok@bounce.example"]
    sent = Sent(lab, "a@bounce.example", rcpts)
    assert sent.sub.rcpt == ["550 5.1.1 Mailbox does not exist",
                             "452 4.2.2 Mailbox full, retry", OK]
    assert_delivered(sent, ["ok@bounce.example"])
    assert sent.delivery.headers("X-Rest") == ["kept"]
    assert_entries(redis, "bounce", sent,
                   sent.entry("rest", "ok@bounce.example"))


def test_bounce_after_stop_never_fires(lab, redis, conf):
    zone(lab, "late.example")
    conf(receipt_rule=["halt a@late.example stop",
                       "late late.example bounce 550 5.7.1 Too late"])
    rcpts = ["a@late.example", "b@late.example", "c@x.example"]
    sent = Sent(lab, "s@late.example", rcpts)
    assert sent.sub.rcpt == [OK, "550 5.7.1 Too late", OK]
    assert_delivered(sent, ["c@x.example"])


def test_actions_before_bounce_leave_no_trace(lab, redis, conf):
    """add_header and notify before a bounce in the same rule do nothing
    for the refused recipient."""
    zone(lab, "trace.example")
    conf(receipt_rule=[
        "trace t@trace.example add_header X-Trace: yes; notify trace; "
        "bounce 550 5.7.1 Refused here",
        "pass * notify trace-pass"])
    sent = Sent(lab, "s@trace.example",
                ["t@trace.example", "u@trace.example"])
    assert sent.sub.rcpt == ["550 5.7.1 Refused here", OK]
    assert_delivered(sent, ["u@trace.example"])
    assert sent.delivery.headers("X-Trace") == []
    assert entries(redis, "trace") == []
    assert_entries(redis, "trace-pass", sent,
                   sent.entry("pass", "u@trace.example"))


# add_header.

def test_add_header_once_per_rule(lab, redis, conf):
    """The field of a rule is added once however many recipients match
    it; two rules add both fields; the value is as configured."""
    zone(lab, "hdr.example")
    conf(receipt_rule=[
        "team hdr.example add_header X-Team: support: tier 2, <q@hdr>",
        "region .hdr.example,hdr.example add_header X-Region:  eu-west-1",
        "other other.example add_header X-Other: no"])
    rcpts = ["a@hdr.example", "b@hdr.example", "c@x.hdr.example"]
    sent = Sent(lab, "s@hdr.example", rcpts)
    assert sent.sub.rcpt == [OK] * 3
    assert_delivered(sent, rcpts)
    assert sent.delivery.headers("X-Team") == ["support: tier 2, <q@hdr>"]
    assert sent.delivery.headers("X-Region") == ["eu-west-1"]
    assert sent.delivery.headers("X-Other") == []


# stop.

def test_stop_one_of_two_recipients(lab, redis, conf):
    zone(lab, "stop1.example")
    conf(receipt_rule=["drop gone@stop1.example stop",
                       "tag stop1.example add_header X-Tag: after"])
    sent = Sent(lab, "s@stop1.example",
                ["gone@stop1.example", "kept@stop1.example"])
    assert sent.sub.rcpt == [OK, OK]
    assert_delivered(sent, ["kept@stop1.example"])
    # The rule after the stop applies to the other recipient only.
    assert sent.delivery.headers("X-Tag") == ["after"]


def test_stop_every_recipient_discards(lab, redis, conf):
    """When every accepted recipient was stopped the message is
    discarded: 250 at the end of data, nothing at the sink, and the
    notify entry says discard."""
    zone(lab, "stop2.example")
    conf(receipt_rule=["drop stop2.example notify dropped; stop",
                       "never * notify never"])
    rcpts = ["a@stop2.example", "b@stop2.example"]
    sent = Sent(lab, "s@stop2.example", rcpts, timeout=3)
    assert sent.sub.rcpt == [OK, OK]
    assert sent.sub.data == f"250 2.0.0 Ok: queued as {sent.qid}"
    assert sent.delivery is None
    assert_entries(redis, "dropped", sent,
                   sent.entry("drop", "a@stop2.example,b@stop2.example",
                              action="discard"))
    assert entries(redis, "never") == []
    discard = [line for line in lab.postfix.logtext().splitlines()
               if f"{sent.qid}: milter-discard: " in line]
    assert len(discard) == 1
    assert "milter triggers DISCARD action" in discard[0]
    assert lab.postfix.queue() == []


# notify.

def test_notify_entry(lab, redis, conf):
    """One entry per rule per message, with every recipient the rule
    matched and the message's envelope, fields and verdicts."""
    zone(lab, "notify.example")
    conf(receipt_rule=["inbox notify.example notify inbox"])
    rcpts = ["a@notify.example", "other@elsewhere.example",
             "b@notify.example"]
    sent = Sent(lab, "bounces@notify.example", rcpts,
                from_hdr='"Notify, Sender" <news@notify.example>',
                subject="Quarterly report: part 1")
    assert sent.sub.rcpt == [OK] * 3
    assert_delivered(sent, rcpts)
    assert_entries(redis, "inbox", sent,
                   sent.entry("inbox", "a@notify.example,b@notify.example"))
    got = entries(redis, "inbox")[0]
    assert (got["from"], got["to"], got["subject"]) == (
        '"Notify, Sender" <news@notify.example>',
        "<a@notify.example>", "Quarterly report: part 1")


def test_notify_two_streams(lab, redis, conf):
    zone(lab, "streams.example")
    conf(receipt_rule=["first a@streams.example notify stream-one",
                       "second * notify stream.two:b"])
    rcpts = ["a@streams.example", "b@streams.example"]
    sent = Sent(lab, "s@streams.example", rcpts)
    assert_delivered(sent, rcpts)
    assert_entries(redis, "stream-one", sent,
                   sent.entry("first", "a@streams.example"))
    assert_entries(redis, "stream.two:b", sent,
                   sent.entry("second",
                              "a@streams.example,b@streams.example"))


def test_notify_dmarc_fail_policy_none(lab, redis, conf):
    """A From domain whose DMARC policy is none and that is not aligned:
    delivered, the entry says dmarc fail and policy none."""
    zone(lab, "envelope-none.example")
    zone(lab, "from-none.example",
         [("_dmarc", "TXT", "v=DMARC1; p=none")])
    conf(receipt_rule=["watch * notify dmarc-none"])
    sent = Sent(lab, "s@envelope-none.example", ["r@dest.example"],
                from_hdr="<boss@from-none.example>")
    assert_delivered(sent, ["r@dest.example"])
    assert_entries(redis, "dmarc-none", sent,
                   sent.entry("watch", "r@dest.example", dmarc="fail",
                              policy="none"))


def test_dmarc_reject_wins(lab, redis, conf):
    """A message DMARC rejects at the end of data makes no entry."""
    zone(lab, "envelope-rej.example")
    zone(lab, "from-rej.example",
         [("_dmarc", "TXT", "v=DMARC1; p=reject")])
    conf(receipt_rule=["watch * add_header X-Watch: yes; "
                       "notify dmarc-reject"])
    sent = Sent(lab, "s@envelope-rej.example", ["r@dest.example"],
                from_hdr="<boss@from-rej.example>")
    assert sent.sub.rcpt == [OK]
    assert sent.sub.data == (
        "550 5.7.1 Message rejected: DMARC policy of from-rej.example "
        "(p=reject) is not satisfied")
    assert sent.delivery is None
    assert entries(redis, "dmarc-reject") == []


def test_redis_down_tempfail(lab, redis, conf):
    """Redis stopped and on_store_error = tempfail: 451 at the end of
    data, nothing delivered; with Redis back the same mail passes."""
    zone(lab, "down1.example")
    conf(receipt_rule=["watch down1.example notify down1"],
         on_store_error="tempfail")
    redis.stop()
    try:
        sent = Sent(lab, "s@down1.example", ["r@down1.example"])
    finally:
        redis.start()
    assert sent.sub.rcpt == [OK]
    assert sent.sub.data == TEMPFAIL
    assert sent.delivery is None
    assert lab.postfix.queue() == []
    assert entries(redis, "down1") == []

    again = Sent(lab, "s@down1.example", ["r@down1.example"])
    assert_delivered(again, ["r@down1.example"])
    assert_entries(redis, "down1", again,
                   again.entry("watch", "r@down1.example"))


def test_redis_down_accept(lab, redis, conf):
    """No Redis and on_store_error = accept: delivered, no entry."""
    zone(lab, "down2.example")
    conf(receipt_rule=["watch down2.example add_header X-Watch: yes; "
                       "notify down2"],
         on_store_error="accept",
         redis_url=f"redis://127.0.0.1:{free_port()}/0")
    sent = Sent(lab, "s@down2.example", ["r@down2.example"])
    assert sent.sub.rcpt == [OK]
    assert_delivered(sent, ["r@down2.example"])
    assert sent.delivery.headers("X-Watch") == ["yes"]
    assert entries(redis, "down2") == []


# Configuration.

def test_reload_changes_rules(lab, redis, conf):
    zone(lab, "reload.example")
    conf(receipt_rule=["v1 r@reload.example bounce 550 5.1.1 Gone (v1)"])
    first = Sent(lab, "s@reload.example", ["r@reload.example"])
    assert first.sub.rcpt == ["550 5.1.1 Gone (v1)"]
    conf(receipt_rule=["v2 r@reload.example add_header X-Rules: v2"])
    second = Sent(lab, "s@reload.example", ["r@reload.example"])
    assert second.sub.rcpt == [OK]
    assert_delivered(second, ["r@reload.example"])
    assert second.delivery.headers("X-Rules") == ["v2"]


def test_bad_rule_on_reload_keeps_running_rules(lab, redis, conf):
    zone(lab, "keep.example")
    conf(receipt_rule=["keep r@keep.example bounce 550 5.1.1 Kept rule"])
    bad = "keep r@keep.example bounce 250 2.0.0 Fine"
    lab.milter.rewrite(receipt_rule=[bad])
    lab.milter.reload(wait_for="keeping the running one")
    with open(lab.milter.conf) as f:
        line = f.read().splitlines().index(f"receipt_rule = {bad}") + 1
    assert (f"{lab.milter.conf}:{line}: [milter] receipt_rule: bad value "
            f'"{bad}": bounce: want a 4xx or 5xx reply code\n'
            ) in lab.milter.logtext()
    sent = Sent(lab, "s@keep.example", ["r@keep.example"])
    assert sent.sub.rcpt == ["550 5.1.1 Kept rule"]


BAD_RULES = [
    ("r1 a.example forward b@c.example",
     "unknown action (want bounce, add_header, stop or notify)"),
    ("r1 a.example bounce 250 2.0.0 Ok",
     "bounce: want a 4xx or 5xx reply code"),
    ("r1 a.example bounce 550 4.1.1 Mismatch",
     "bounce: want an enhanced status code of the reply code's class "
     "(such as 550 5.1.1)"),
    ("r1 a.example add_header X_Bad: v",
     "add_header: want a header name of 1 to 50 letters, digits and '-'"),
    ("r1 a.example notify in/box",
     "notify: want a stream name (letters, digits, '_', '-', '.', ':'; "
     "at most 64)"),
    ("r1 a.example " + "; ".join(["stop"] * 11), "more than 10 actions"),
    ("-r1 a.example stop",
     "want a rule name of letters, digits, '_', '-' and '.', starting "
     "and ending with a letter or digit, at most 64"),
    ("r1 , stop",
     "want recipients as *, or addresses, domains and .domains "
     "separated by commas"),
]


def check(tmp_path, rule, redis_url="redis://127.0.0.1:6379/0"):
    """sesgate-milter -n on a file with a good rule then `rule`."""
    path = os.path.join(tmp_path, "sesgate.conf")
    with open(path, "w") as f:
        f.write(f"[redis]\nurl = {redis_url}\n[milter]\n"
                "listen = inet:10025@127.0.0.1\n"
                "receipt_rule = good a.example stop\n"
                f"receipt_rule = {rule}\n")
    return path, subprocess.run([MILTER, "-n", "-c", path],
                                capture_output=True, text=True,
                                timeout=30)


def test_good_rules_pass_the_check(tmp_path, redis_server):
    rule = "ok2 b@a.example,.b.example add_header X-A: b; notify s:1"
    _path, r = check(tmp_path, rule, redis_server.url)
    assert (r.returncode, r.stderr) == (0, "")
    assert ("receipt_rule = good a.example stop\n"
            f"receipt_rule = {rule}\n") in r.stdout


@pytest.mark.parametrize("rule,why", BAD_RULES,
                         ids=["action", "code", "class", "header",
                              "stream", "actions", "name", "recipients"])
def test_bad_rule_refused(tmp_path, rule, why):
    path, r = check(tmp_path, rule)
    assert r.stderr == ("sesgate-milter: configuration errors:\n"
                        f'{path}:6: [milter] receipt_rule: bad value '
                        f'"{rule}": {why}\n')
    assert r.returncode == EX_CONFIG
    assert r.stdout == ""


def test_internal_client_not_bounced(lab, redis, conf):
    """Rules apply to inbound mail only: a client in internal_hosts
    (127.0.0.1, no XCLIENT) sending to a bounced address is relayed."""
    zone(lab, "internal.example")
    redis.client().sadd(f"{PREFIX}identities", "internal.example")
    conf(receipt_rule=["gone * bounce 550 5.1.1 Mailbox does not exist"])
    inbound = Sent(lab, "app@internal.example", ["gone@internal.example"])
    assert inbound.sub.rcpt == ["550 5.1.1 Mailbox does not exist"]
    sub = lab.postfix.submit("app@internal.example",
                             ["gone@internal.example"])
    assert sub.rcpt == [OK]
    assert sub.data.startswith("250 2.0.0 Ok: queued as "), sub.data
    got = lab.sink.wait_recipients(1, sub.token, timeout=20)
    assert got == ["gone@internal.example"]


def test_bad_long_rule_line_number(tmp_path):
    """The error names the line of a rule longer than libinih's first
    buffer (200 bytes) too."""
    rule = "r1 a.example " + "; ".join(["add_header X-A: b"] * 11)
    assert len(rule) > 200
    path, r = check(tmp_path, rule)
    assert r.stderr == ("sesgate-milter: configuration errors:\n"
                        f'{path}:6: [milter] receipt_rule: bad value '
                        f'"{rule}": more than 10 actions\n')
    assert r.returncode == EX_CONFIG
