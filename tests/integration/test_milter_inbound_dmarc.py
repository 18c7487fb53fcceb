"""DMARC (RFC 7489) in sesgate-milter's inbound checks, behind a real
Postfix: mail sent as a remote client (XCLIENT, tests/integration/
inbound.py) gets one Authentication-Results field whose dmarc= part
follows the From domain's published policy, and the SMTP reply and the
queue follow the disposition: reject is a 550 at end of data,
quarantine is Postfix's hold queue, none is delivery. Records are
served by a loopback NSD; DKIM signatures come from dkimpy, a signer
independent of the milter.

Every case has zones of its own, since the milter's resolver caches
what it was told. SPF passes for clients in 192.0.2.0/24 (INSIDE) and
fails for 198.51.100.20 (OUTSIDE).
"""
import re
import smtplib
import time

import pytest

import dkimcheck
from inbound import AUTHSERV_ID, RCPT, InboundLab, message, token_of

PSL = "/usr/share/publicsuffix/public_suffix_list.dat"
INSIDE = "192.0.2.10"
OUTSIDE = "198.51.100.20"
SPF = "v=spf1 ip4:192.0.2.0/24 -all"
SELECTOR = "sel1"
# The [milter] defaults the configuration tests change and put back.
DEFAULTS = {"on_dmarc_reject": "reject",
            "on_dmarc_quarantine": "quarantine"}


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return dkimcheck.make_key(tmp_path_factory.mktemp("keys"), "rsa", 2048,
                              "rsa")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    # verify_from = no: the lab has no Redis, and mail from internal or
    # authenticated clients takes the outbound path, which would ask it
    # whether the From address is a verified identity.
    lab = InboundLab(tmp_path_factory, milter={"verify_from": "no"})
    try:
        no_header_rewrite(lab.postfix)
        yield lab
    finally:
        lab.close()


def no_header_rewrite(postfix, timeout=10.0):
    """Have Postfix add no missing header to mail from any client, as an
    MX does (local_header_rewrite_clients empty), and reload it. With
    the default, its cleanup adds "From: <MAIL FROM>" to our XCLIENT
    mail that has none, before the milter is shown the message, and no
    message would reach the milter without From."""
    before = postfix.logtext().count(" reload ")
    postfix.extra["local_header_rewrite_clients"] = ""
    postfix.write_main_cf()
    r = postfix.postfix("reload")
    assert r.returncode == 0, r.stderr
    deadline = time.monotonic() + timeout
    while postfix.logtext().count(" reload ") <= before:
        assert time.monotonic() < deadline, "postfix did not reload"
        time.sleep(0.05)


@pytest.fixture
def reconfigure(lab):
    """reconfigure(key=value, ...) reloads the milter with [milter] keys
    changed; the defaults come back after the test."""
    changed = set()

    def apply(**conf):
        changed.update(conf)
        lab.reconfigure(**conf)
    yield apply
    if changed:
        lab.reconfigure(**{k: DEFAULTS[k] for k in changed})


def zone(lab, origin, dmarc=None, spf=SPF, records=()):
    """Serve `origin`: SPF record `spf` at the apex, DMARC record `dmarc`
    at _dmarc (none when None), then `records`."""
    recs = [("@", "TXT", spf)] if spf else []
    if dmarc is not None:
        recs.append(("_dmarc", "TXT", dmarc))
    lab.dns.add_zone(origin, recs + list(records))


def send(lab, client, sender, from_hdr=None, extra="", msg=None):
    """Send as `client` with MAIL FROM `sender`, greeting with a name in
    the sender's zone (so that no query leaves the served zones)."""
    if msg is None:
        msg = message(from_hdr, extra=extra)
    helo = "mail." + sender.rpartition("@")[2]
    return lab.send(client, helo, sender, msg)


def signed(key, domain, from_hdr, extra=""):
    """A message signed by dkimpy as `domain`, selector SELECTOR; and the
    first 8 characters of its b= (header.b of RFC 6008)."""
    msg = message(from_hdr, extra=extra)
    sig = dkimcheck.sign(msg, key, domain, SELECTOR)
    value = re.sub(rb"\s+", b"", sig.split(b":", 1)[1])
    b = re.search(rb"(?:^|;)b=([^;]*)", value).group(1)
    return sig + msg, b[:8].decode()


def verdicts(lab, msg):
    """What the independent verifier makes of msg's signatures: the
    test's own data checked before the milter is asked."""
    return [sig.result for sig in dkimcheck.verify(msg, lab.dns)]


def ar(spf, dkim, dmarc):
    """Our Authentication-Results value, unfolded."""
    return f"{AUTHSERV_ID}; {spf}; {dkim}; {dmarc}"


def dkim_pass(domain, b8):
    return (f"dkim=pass header.d={domain} header.s={SELECTOR} "
            f"header.a=rsa-sha256 header.b={b8}")


def rejected(domain, policy="reject"):
    return (f"550 5.7.1 Message rejected: DMARC policy of {domain} "
            f"(p={policy}) is not satisfied")


def queue_id(reply):
    assert reply.startswith("250 2.0.0 Ok: queued as "), reply
    return reply.rsplit(" ", 1)[1]


def inbound_log(lab, qid, timeout=5.0):
    """The milter's inbound log lines for `qid`, from "client=" on."""
    mark = f"{qid}: milter: client="
    deadline = time.monotonic() + timeout
    while True:
        lines = ["client=" + line.split(mark, 1)[1]
                 for line in lab.milter.logtext().splitlines()
                 if mark in line and " inbound " in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def assert_delivered(got, want_ar):
    assert got.sub.data.startswith("250 2.0.0 Ok: queued as "), \
        got.sub.data
    assert got.delivery is not None, "accepted but not delivered"
    assert got.ar == want_ar


def assert_rejected(got, domain, policy="reject"):
    assert got.sub.data == rejected(domain, policy)
    assert got.delivery is None


def assert_held(lab, got, held_before, client, spf):
    """Accepted, put on hold instead of delivered, and logged so."""
    qid = queue_id(got.sub.data)
    assert got.delivery is None
    held = [q["queue_id"] for q in lab.held()]
    assert len(held) == held_before + 1
    assert qid in held
    assert inbound_log(lab, qid) == [
        f"client={client} inbound spf={spf} dkim=none dmarc=fail "
        "action=quarantine"]


# Organizational domains (RFC 7489 section 3.2) as the milter finds
# them with Debian's Public Suffix List: the longest matching rule
# (an exception rule first) gives the public suffix, one more label
# the organizational domain; a name no rule matches has the implicit
# rule "*".

def psl_rules(path=PSL):
    rules = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("//"):
                rules.add(line.split()[0].lower())
    return rules


def org_domain(name, rules):
    labels = name.lower().rstrip(".").split(".")
    n = len(labels)
    exceptions = [n - i - 1 for i in range(n)
                  if "!" + ".".join(labels[i:]) in rules]
    if exceptions:
        size = max(exceptions)
    else:
        size = 1
        for i in range(n):
            tail = labels[i:]
            if (".".join(tail) in rules
                    or ".".join(["*"] + tail[1:]) in rules):
                size = max(size, n - i)
    if size >= n:
        return None
    return ".".join(labels[n - size - 1:])


def test_psl_gives_the_organizational_domains_used_here():
    """What the org-domain cases below rely on: "example" is in no rule,
    so x.y.example belongs to y.example, while co.uk is a public suffix,
    so a name under it belongs to the label left of co.uk."""
    rules = psl_rules()
    assert "example" not in rules and "co.uk" in rules
    assert org_domain("a.b.orgfb.example", rules) == "orgfb.example"
    assert org_domain("a.spreject.example", rules) == "spreject.example"
    assert org_domain("mail.aspfs.example", rules) == "aspfs.example"
    assert org_domain("mail.news.dmarc-org.co.uk", rules) == \
        "dmarc-org.co.uk"
    assert org_domain("co.uk", rules) is None


# SPF alignment (RFC 7489 section 3.1.2).

def test_spf_aligned_pass_is_dmarc_pass(lab):
    zone(lab, "spfonly.example", "v=DMARC1; p=reject")
    got = send(lab, INSIDE, "bounce@spfonly.example",
               "Alice <alice@spfonly.example>")
    assert_delivered(got, ar(
        "spf=pass smtp.mailfrom=bounce@spfonly.example", "dkim=none",
        "dmarc=pass (p=reject dis=none) header.from=spfonly.example"))


def test_spf_fail_under_p_reject_is_refused(lab):
    zone(lab, "spffail.example", "v=DMARC1; p=reject")
    held_before = len(lab.held())
    got = send(lab, OUTSIDE, "bounce@spffail.example",
               "Alice <alice@spffail.example>")
    assert_rejected(got, "spffail.example")
    assert len(lab.held()) == held_before


# DKIM alignment (RFC 7489 section 3.1.1).

def test_aligned_dkim_pass_is_dmarc_pass_despite_spf_fail(lab, key):
    zone(lab, "dkimonly.example", "v=DMARC1; p=reject",
         records=[key.record(SELECTOR)])
    msg, b8 = signed(key, "dkimonly.example",
                     "Alice <alice@dkimonly.example>")
    assert verdicts(lab, msg) == ["pass"]
    got = send(lab, OUTSIDE, "bounce@dkimonly.example", msg=msg)
    assert_delivered(got, ar(
        "spf=fail smtp.mailfrom=bounce@dkimonly.example",
        dkim_pass("dkimonly.example", b8),
        "dmarc=pass (p=reject dis=none) header.from=dkimonly.example"))


def test_unaligned_dkim_pass_does_not_satisfy_dmarc(lab, key):
    """A valid signature of another organization counts for nothing."""
    zone(lab, "dkimthird.example", records=[key.record(SELECTOR)])
    zone(lab, "dkimfrom.example", "v=DMARC1; p=reject")
    msg, _ = signed(key, "dkimthird.example",
                    "Alice <alice@dkimfrom.example>")
    assert verdicts(lab, msg) == ["pass"]
    got = send(lab, OUTSIDE, "bounce@dkimfrom.example", msg=msg)
    assert_rejected(got, "dkimfrom.example")


# Strict and relaxed alignment, aspf= and adkim= (RFC 7489 section 6.3,
# relaxed by default): MAIL FROM, or d=, in mail.DOMAIN, From in DOMAIN.
# None: refused.

@pytest.mark.parametrize("domain,tags,dmarc", [
    ("aspfs.example", "p=none; aspf=s", "fail (p=none dis=none)"),
    ("aspfr.example", "p=none; aspf=r", "pass (p=none dis=none)"),
    ("aspfd.example", "p=reject", "pass (p=reject dis=none)"),
    ("aspfsr.example", "p=reject; aspf=s", None),
])
def test_spf_alignment_of_a_subdomain(lab, domain, tags, dmarc):
    zone(lab, domain, f"v=DMARC1; {tags}",
         records=[("mail", "TXT", SPF)])
    got = send(lab, INSIDE, f"bounce@mail.{domain}",
               f"Alice <alice@{domain}>")
    if dmarc is None:
        assert_rejected(got, domain)
        return
    assert_delivered(got, ar(
        f"spf=pass smtp.mailfrom=bounce@mail.{domain}", "dkim=none",
        f"dmarc={dmarc} header.from={domain}"))


@pytest.mark.parametrize("domain,tags,dmarc", [
    ("adkims.example", "p=none; adkim=s", "fail (p=none dis=none)"),
    ("adkimr.example", "p=none; adkim=r", "pass (p=none dis=none)"),
    ("adkimd.example", "p=reject", "pass (p=reject dis=none)"),
    ("adkimsr.example", "p=reject; adkim=s", None),
])
def test_dkim_alignment_of_a_subdomain(lab, key, domain, tags, dmarc):
    zone(lab, domain, f"v=DMARC1; {tags}",
         records=[(f"{SELECTOR}._domainkey.mail", "TXT", key.txt)])
    msg, b8 = signed(key, f"mail.{domain}", f"Alice <alice@{domain}>")
    assert verdicts(lab, msg) == ["pass"]
    got = send(lab, OUTSIDE, f"bounce@{domain}", msg=msg)
    if dmarc is None:
        assert_rejected(got, domain)
        return
    assert_delivered(got, ar(
        f"spf=fail smtp.mailfrom=bounce@{domain}",
        dkim_pass(f"mail.{domain}", b8),
        f"dmarc={dmarc} header.from={domain}"))


# Policies (RFC 7489 section 6.3 p=, section 6.6.4 pct=).

def test_p_quarantine_holds_the_message(lab):
    zone(lab, "quar.example", "v=DMARC1; p=quarantine")
    held_before = len(lab.held())
    got = send(lab, OUTSIDE, "bounce@quar.example",
               "Alice <alice@quar.example>")
    assert_held(lab, got, held_before, OUTSIDE, "fail")


def test_p_none_delivers_and_records_the_fail(lab):
    zone(lab, "pnone.example", "v=DMARC1; p=none")
    got = send(lab, OUTSIDE, "bounce@pnone.example",
               "Alice <alice@pnone.example>")
    assert_delivered(got, ar(
        "spf=fail smtp.mailfrom=bounce@pnone.example", "dkim=none",
        "dmarc=fail (p=none dis=none) header.from=pnone.example"))


def test_sp_reject_applies_to_a_subdomain(lab):
    """a.spreject.example publishes nothing; the record of its
    organizational domain says sp=reject, and p=none for itself."""
    zone(lab, "spreject.example", "v=DMARC1; p=none; sp=reject",
         records=[("a", "TXT", SPF)])
    got = send(lab, OUTSIDE, "bounce@a.spreject.example",
               "Alice <alice@a.spreject.example>")
    assert_rejected(got, "a.spreject.example")
    got = send(lab, OUTSIDE, "bounce@spreject.example",
               "Alice <alice@spreject.example>")
    assert_delivered(got, ar(
        "spf=fail smtp.mailfrom=bounce@spreject.example", "dkim=none",
        "dmarc=fail (p=none dis=none) header.from=spreject.example"))


def test_sp_none_applies_to_a_subdomain(lab):
    zone(lab, "spnone.example", "v=DMARC1; p=reject; sp=none",
         records=[("a", "TXT", SPF)])
    got = send(lab, OUTSIDE, "bounce@a.spnone.example",
               "Alice <alice@a.spnone.example>")
    assert_delivered(got, ar(
        "spf=fail smtp.mailfrom=bounce@a.spnone.example", "dkim=none",
        "dmarc=fail (p=none dis=none) header.from=a.spnone.example"))
    got = send(lab, OUTSIDE, "bounce@spnone.example",
               "Alice <alice@spnone.example>")
    assert_rejected(got, "spnone.example")


def test_pct_100_rejects(lab):
    zone(lab, "pct100.example", "v=DMARC1; p=reject; pct=100")
    got = send(lab, OUTSIDE, "bounce@pct100.example",
               "Alice <alice@pct100.example>")
    assert_rejected(got, "pct100.example")


def test_pct_0_turns_reject_into_quarantine(lab):
    zone(lab, "pct0r.example", "v=DMARC1; p=reject; pct=0")
    held_before = len(lab.held())
    got = send(lab, OUTSIDE, "bounce@pct0r.example",
               "Alice <alice@pct0r.example>")
    assert_held(lab, got, held_before, OUTSIDE, "fail")


def test_pct_0_turns_quarantine_into_none(lab):
    zone(lab, "pct0q.example", "v=DMARC1; p=quarantine; pct=0")
    got = send(lab, OUTSIDE, "bounce@pct0q.example",
               "Alice <alice@pct0q.example>")
    assert_delivered(got, ar(
        "spf=fail smtp.mailfrom=bounce@pct0q.example", "dkim=none",
        "dmarc=fail (p=quarantine dis=none) header.from=pct0q.example"))


# Policy discovery (RFC 7489 section 6.6.3): _dmarc.FROMDOMAIN, then
# _dmarc.ORGDOMAIN; relaxed alignment compares organizational domains.

def test_policy_of_the_organizational_domain(lab):
    zone(lab, "orgfb.example", "v=DMARC1; p=reject")
    got = send(lab, INSIDE, "bounce@orgfb.example",
               "Alice <alice@a.b.orgfb.example>")
    assert_delivered(got, ar(
        "spf=pass smtp.mailfrom=bounce@orgfb.example", "dkim=none",
        "dmarc=pass (p=reject dis=none) header.from=a.b.orgfb.example"))
    got = send(lab, OUTSIDE, "bounce@orgfb.example",
               "Alice <alice@a.b.orgfb.example>")
    assert_rejected(got, "a.b.orgfb.example")


def test_organizational_domain_under_a_public_suffix(lab):
    """co.uk is a public suffix: the organizational domain of
    mail.news.dmarc-org.co.uk is dmarc-org.co.uk, not co.uk (which the
    test DNS does not serve: asking it would be a temperror)."""
    zone(lab, "dmarc-org.co.uk", "v=DMARC1; p=reject")
    got = send(lab, INSIDE, "bounce@dmarc-org.co.uk",
               "Alice <alice@mail.news.dmarc-org.co.uk>")
    assert_delivered(got, ar(
        "spf=pass smtp.mailfrom=bounce@dmarc-org.co.uk", "dkim=none",
        "dmarc=pass (p=reject dis=none) "
        "header.from=mail.news.dmarc-org.co.uk"))
    got = send(lab, OUTSIDE, "bounce@dmarc-org.co.uk",
               "Alice <alice@mail.news.dmarc-org.co.uk>")
    assert_rejected(got, "mail.news.dmarc-org.co.uk")


def test_no_record_is_dmarc_none(lab):
    zone(lab, "nodmarc.example")
    got = send(lab, OUTSIDE, "bounce@nodmarc.example",
               "Alice <alice@nodmarc.example>")
    assert_delivered(got, ar(
        "spf=fail smtp.mailfrom=bounce@nodmarc.example", "dkim=none",
        "dmarc=none header.from=nodmarc.example"))


def test_malformed_record_is_permerror_and_delivered(lab):
    zone(lab, "baddmarc.example", "v=DMARC1; p=bogus")
    got = send(lab, OUTSIDE, "bounce@baddmarc.example",
               "Alice <alice@baddmarc.example>")
    assert_delivered(got, ar(
        "spf=fail smtp.mailfrom=bounce@baddmarc.example", "dkim=none",
        "dmarc=permerror header.from=baddmarc.example"))


# From fields DMARC cannot evaluate (RFC 7489 section 6.6.1): no
# header.from, no policy, delivered.

@pytest.fixture(scope="module")
def mfrom_zone(lab):
    zone(lab, "mfrom.example", "v=DMARC1; p=reject")

@pytest.mark.parametrize("from_hdr,extra", [
    ("a@mfrom.example, b@mfrom.example", ""),
    ("a@mfrom.example", "From: b@mfrom.example\r\n"),
    (None, ""),
], ids=["two-addresses", "two-fields", "no-from"])
def test_unusable_from_is_permerror(lab, mfrom_zone, from_hdr, extra):
    msg = message(from_hdr or "x", extra=extra)
    if from_hdr is None:
        msg = msg.split(b"\r\n", 1)[1]
    got = send(lab, OUTSIDE, "bounce@mfrom.example", msg=msg)
    assert_delivered(got, ar(
        "spf=fail smtp.mailfrom=bounce@mfrom.example", "dkim=none",
        "dmarc=permerror"))
    if from_hdr is None:
        assert got.delivery.headers("From") == []


# What the on_dmarc_* settings make of a policy.

def test_on_dmarc_reject_quarantine_holds(lab, reconfigure):
    zone(lab, "cfgq.example", "v=DMARC1; p=reject")
    reconfigure(on_dmarc_reject="quarantine")
    held_before = len(lab.held())
    got = send(lab, OUTSIDE, "bounce@cfgq.example",
               "Alice <alice@cfgq.example>")
    assert_held(lab, got, held_before, OUTSIDE, "fail")


def test_on_dmarc_reject_record_delivers(lab, reconfigure):
    zone(lab, "cfgrec.example", "v=DMARC1; p=reject")
    reconfigure(on_dmarc_reject="record")
    got = send(lab, OUTSIDE, "bounce@cfgrec.example",
               "Alice <alice@cfgrec.example>")
    assert_delivered(got, ar(
        "spf=fail smtp.mailfrom=bounce@cfgrec.example", "dkim=none",
        "dmarc=fail (p=reject dis=none) header.from=cfgrec.example"))


def test_on_dmarc_quarantine_reject_refuses(lab, reconfigure):
    zone(lab, "cfgqr.example", "v=DMARC1; p=quarantine")
    reconfigure(on_dmarc_quarantine="reject")
    held_before = len(lab.held())
    got = send(lab, OUTSIDE, "bounce@cfgqr.example",
               "Alice <alice@cfgqr.example>")
    assert_rejected(got, "cfgqr.example", "quarantine")
    assert len(lab.held()) == held_before


# Authentication-Results fields already in the message (RFC 8601
# section 5): ours (same authserv-id, in any case) go, others stay.

OTHER_AR = "Authentication-Results: other.example; spf=pass\r\n"


@pytest.fixture(scope="module")
def forged_zone(lab):
    zone(lab, "forged.example", "v=DMARC1; p=none")


@pytest.mark.parametrize("forged", [
    "Authentication-Results: mx.sesgate.test; dmarc=pass "
    "header.from=x\r\n",
    "Authentication-Results: MX.SESGATE.TEST; dmarc=pass "
    "header.from=x\r\n",
    "Authentication-Results:\r\n\tmx.sesgate.test ;\r\n"
    "\tdmarc=pass header.from=x\r\n",
], ids=["same", "upper-case", "folded"])
def test_forged_results_of_ours_are_removed(lab, forged_zone, forged):
    got = send(lab, OUTSIDE, "bounce@forged.example",
               "Alice <alice@forged.example>", extra=forged + OTHER_AR)
    assert_delivered(got, ar(
        "spf=fail smtp.mailfrom=bounce@forged.example", "dkim=none",
        "dmarc=fail (p=none dis=none) header.from=forged.example"))
    assert got.ars[1:] == ["other.example; spf=pass"]


def test_every_forged_result_of_ours_is_removed(lab, forged_zone):
    """Two of ours around another's: both go, whatever their place."""
    extra = ("Authentication-Results: mx.sesgate.test; spf=pass "
             "smtp.mailfrom=x\r\n" + OTHER_AR +
             "Authentication-Results: Mx.Sesgate.Test; dkim=pass\r\n")
    got = send(lab, OUTSIDE, "bounce@forged.example",
               "Alice <alice@forged.example>", extra=extra)
    assert_delivered(got, ar(
        "spf=fail smtp.mailfrom=bounce@forged.example", "dkim=none",
        "dmarc=fail (p=none dis=none) header.from=forged.example"))
    assert got.ars[1:] == ["other.example; spf=pass"]


# Internal and authenticated clients are not checked inbound.

FORGED = ("Authentication-Results: mx.sesgate.test; dmarc=pass "
          "header.from=x\r\n")


def wait_delivery(lab, token, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = lab.sink.received(token)
        if got:
            return got[0]
        time.sleep(0.05)
    raise AssertionError(f"message {token} not delivered")


def test_internal_client_gets_no_results(lab):
    """From 127.0.0.1 (internal_hosts), no XCLIENT: a domain whose
    policy would refuse the message, and a field that looks like ours
    left as it is."""
    zone(lab, "internal.example", "v=DMARC1; p=reject",
         spf="v=spf1 -all")
    sub = lab.postfix.submit("bounce@internal.example", [RCPT],
                             headers=FORGED + OTHER_AR)
    assert sub.data.startswith("250 2.0.0 Ok: queued as "), sub.data
    got = wait_delivery(lab, sub.token)
    assert got.headers("Authentication-Results") == [
        "mx.sesgate.test; dmarc=pass header.from=x",
        "other.example; spf=pass"]
    assert inbound_log(lab, queue_id(sub.data), timeout=0.5) == []


def test_authenticated_client_gets_no_results(lab):
    """A remote address that logged in (XCLIENT LOGIN= sets the SASL
    login Postfix hands the milter as {auth_authen})."""
    zone(lab, "authed.example", "v=DMARC1; p=reject",
         spf="v=spf1 -all")
    msg = message("Alice <alice@authed.example>",
                  extra=FORGED + OTHER_AR)
    with smtplib.SMTP("127.0.0.1", lab.postfix.port, timeout=60) as s:
        s.ehlo("xclient.sesgate.test")
        code, text = s.docmd("XCLIENT", f"ADDR={OUTSIDE} "
                             "NAME=[UNAVAILABLE] LOGIN=alice")
        assert code == 220, text
        s.ehlo_resp = None
        s.ehlo("mail.authed.example")
        assert s.mail("bounce@authed.example")[0] == 250
        assert s.rcpt(RCPT)[0] == 250
        code, text = s.data(msg)
    reply = f"{code} {text.decode()}"
    assert reply.startswith("250 2.0.0 Ok: queued as "), reply
    got = wait_delivery(lab, token_of(msg))
    assert got.headers("Authentication-Results") == [
        "mx.sesgate.test; dmarc=pass header.from=x",
        "other.example; spf=pass"]
    assert inbound_log(lab, queue_id(reply), timeout=0.5) == []
