"""Hostile input to sesgate-milter's inbound checks, behind a real
Postfix: DNS answers of unusual size or shape (huge TXT records, an
RRset too large for any DNS message, CNAME loops, malformed DMARC
records), a message with 1,000 DKIM signatures, the IP address filter
that refuses clients at connect, and the resolver's cache.

Every case asserts the exact SMTP reply and Authentication-Results
value, a bounded time where the input invites unbounded work, and that
the milter still runs and answers afterwards. Records are served by a
loopback NSD (dnsserver.py); every case has names of its own, since the
milter's resolver caches what it was told.
"""
import base64
import os
import re
import smtplib
import subprocess
import time

import dkim
import dkim.util
import dns.flags
import dns.message
import dns.query
import pytest

import dkimcheck
import milterclient as mc
from inbound import AUTHSERV_ID, RCPT, InboundLab, message, token_of
from lab import MILTER, TEST_GLOBAL, write_conf

QUEUED = "250 2.0.0 Ok: queued as "
INSIDE = "192.0.2.10"
OUTSIDE = "198.51.100.20"
SPF_PASS = "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]
# A zone whose mail from INSIDE passes SPF: the transaction that shows
# the milter still answers after a hostile one.
ALIVE = "alive.example"
# The [milter] defaults the tests change and put back.
DEFAULTS = {"on_dns_error": "tempfail", "ip_filter_allow": "",
            "ip_filter_block": "", "dns_cache_size": "4M"}
# No check may make a transaction take longer than this.
BOUND = 30.0


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return dkimcheck.make_key(tmp_path_factory.mktemp("keys"), "rsa", 2048,
                              "rsa")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    # verify_from = no: the lab has no Redis.
    lab = InboundLab(tmp_path_factory, milter={"verify_from": "no"})
    try:
        lab.dns.add_zone(ALIVE, [("@", "TXT", SPF_PASS)])
    except BaseException:
        lab.close()
        raise
    yield lab
    lab.close()
    # A build with SANITIZE=1 reports to the milter's stderr, its log.
    log = lab.milter.logtext()
    for mark in ("Sanitizer", "runtime error:"):
        assert mark not in log, log[log.index(mark) - 200:][:4000]


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


def ar(spf, dkim_part, dmarc):
    """Our Authentication-Results value, unfolded."""
    return f"{AUTHSERV_ID}; {spf}; {dkim_part}; {dmarc}"


def unfolded_ars(got):
    """The Authentication-Results values of the message got (an Outcome)
    delivered, top first, unfolded as the milter's specification reads
    them: each CRLF and the white space character after it become one
    space."""
    head = got.delivery.data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    head = re.sub(r"\r\n[ \t]", " ", head)
    out = []
    for line in head.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "authentication-results":
            out.append(value.strip())
    return out


def send(lab, client, sender, msg):
    """Send msg as `client` with MAIL FROM `sender`, greeting with a name
    in the sender's domain; the Outcome and the seconds it took."""
    start = time.monotonic()
    got = lab.send(client, "mail." + sender.rpartition("@")[2], sender,
                   msg)
    return got, time.monotonic() - start


def delivered(got):
    """got was queued, reached the sink and has one Authentication-
    Results field of ours; its value."""
    assert got.sub.data is not None and got.sub.data.startswith(QUEUED), \
        got.sub.data
    assert got.delivery is not None, "queued but not delivered"
    values = unfolded_ars(got)
    assert len(values) == 1, values
    return values[0]


def assert_alive(lab):
    """The milter runs and answers a plain transaction at once, played
    straight to it."""
    assert lab.milter.proc.poll() is None, lab.milter.logtext()[-2000:]
    sender = f"a@{ALIVE}"
    start = time.monotonic()
    res = mc.send_message(lab.milter.spec, sender, [RCPT],
                          message(f"<{sender}>"), client_name="unknown",
                          client_addr=INSIDE, helo=f"mail.{ALIVE}",
                          timeout=10.0)
    assert time.monotonic() - start < 5.0
    assert res.action == "continue", res
    assert [re.sub(r"\r?\n[ \t]", " ", m.value).strip()
            for m in res.header_edits if m.kind == "insert_header"
            and m.name.lower() == "authentication-results"] == [
        ar(f"spf=pass smtp.mailfrom={sender}", "dkim=none",
           f"dmarc=none header.from={ALIVE}")]


def tempfailed_spf(domain):
    return (f"451 4.7.24 SPF check for {domain} failed temporarily; try "
            "again later")


def tempfailed_dkim(selector, domain):
    return (f"451 4.7.5 DKIM key for {selector}._domainkey.{domain} could "
            "not be fetched; try again later")


def tempfailed_dmarc(domain):
    return (f"451 4.7.1 DMARC record for {domain} could not be fetched; "
            "try again later")


def signed(key, domain, selector, msg):
    """msg with a DKIM-Signature made by dkimpy on top; and the first 8
    characters of its b=."""
    field = dkim.sign(msg, selector.encode(), domain.encode(),
                      key.dkimpy_private(), canonicalize=(b"relaxed",
                                                          b"relaxed"),
                      include_headers=SIGNED)
    tags = dkim.util.parse_tag_value(field.split(b":", 1)[1])
    return field + msg, re.sub(rb"\s", b"", tags[b"b"])[:8].decode()


def dkim_res(result, domain, selector, b8, reason=None):
    why = f" ({reason})" if reason else ""
    return (f"dkim={result}{why} header.d={domain} header.s={selector} "
            f"header.a=rsa-sha256 header.b={b8}")


def verdicts(lab, msg):
    """dkimpy's (d, s, a, result, reason) for each signature of msg: the
    test's own data checked by a verifier independent of the milter."""
    return dkimcheck.summaries(dkimcheck.verify(msg, lab.dns))


# Huge TXT records.

# About 4,000 bytes of SPF record: 195 ip4: terms that do not match,
# then the one that does; dnsserver.py splits it into 255-byte
# character-strings, which check_host() joins (RFC 7208 section 3.3).
HUGE_SPF = " ".join(["v=spf1"]
                    + [f"ip4:203.0.113.{i % 250}/32" for i in range(195)]
                    + ["ip4:192.0.2.0/24", "-all"])
# 64 terms that match nothing, then -all: 65 mechanisms in 800 bytes.
MECH65 = " ".join(["v=spf1"] + [f"ip4:10.0.0.{i}" for i in range(64)]
                  + ["-all"])
# 63 that match nothing, then -all: the most libspf2 evaluates.
MECH64 = " ".join(["v=spf1"] + [f"ip4:10.0.0.{i}" for i in range(63)]
                  + ["-all"])
# A long record whose third term matches.
EARLY = " ".join(["v=spf1", "ip4:10.0.0.1", "ip4:192.0.2.0/24"]
                 + [f"ip4:10.0.1.{i}" for i in range(100)] + ["-all"])
# TXT records of 255 + a few bytes each at one name: 240 make an RRset
# of about 62 KB, which fits in a DNS message over TCP only; 270 make
# one of about 70 KB, which fits in no DNS message (at most 65,535
# bytes, RFC 1035 section 4.2.2).
FILLER = "x" * 250


def filler(count):
    return [f"{i:04d} {FILLER}" for i in range(count)]


@pytest.fixture(scope="module")
def big_zone(lab):
    records = [("huge", "TXT", HUGE_SPF), ("mech65", "TXT", MECH65),
               ("mech64", "TXT", MECH64), ("early", "TXT", EARLY)]
    records += [("tcp", "TXT", v) for v in filler(239)]
    records += [("tcp", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")]
    records += [("over64k", "TXT", v) for v in filler(269)]
    records += [("over64k", "TXT", "v=spf1 ip4:192.0.2.0/24 -all")]
    lab.dns.add_zone("big.example", records)
    return "big.example"


def test_zone_serves_the_large_answers(lab, big_zone):
    """What the large-record cases rely on, asked with dnspython."""
    (strings,) = lab.dns.txt(f"huge.{big_zone}")
    assert 3900 < len(HUGE_SPF) < 4100
    assert len(strings) == 16 and b"".join(strings) == HUGE_SPF.encode()
    r = lab.dns.query(f"tcp.{big_zone}", "TXT", tcp=True)
    assert len(r.to_wire()) > 60000 and len(r.answer[0]) == 240
    # Over UDP the answer is truncated (TC), so a resolver must ask
    # again over TCP.
    q = dns.message.make_query(f"tcp.{big_zone}", "TXT", use_edns=0,
                               payload=4096)
    r = dns.query.udp(q, "127.0.0.1", port=lab.dns.port, timeout=2.0)
    assert r.flags & dns.flags.TC
    # NSD answers an RRset that fits in no message with TC set and an
    # empty answer section, over TCP too.
    r = lab.dns.query(f"over64k.{big_zone}", "TXT", tcp=True)
    assert r.flags & dns.flags.TC
    assert r.answer == []


# RFC 7208 sets no limit on the number of mechanisms (only on those
# that cost a DNS lookup, section 4.6.4), but libspf2 evaluates only the
# first 64 and drops the rest without a word. A record that reaches its
# end past that point has no known answer: permerror, not the neutral
# libspf2 would give. A match among the first 64 still counts.
@pytest.mark.parametrize("name,client,result", [
    ("huge", INSIDE, "permerror"),
    ("huge", "198.51.100.99", "permerror"),
    ("mech65", "198.51.100.99", "permerror"),
    ("mech64", "198.51.100.99", "fail"),
    ("early", INSIDE, "pass"),
])
def test_spf_record_with_many_terms(lab, big_zone, name, client, result):
    sender = f"{result}@{name}.{big_zone}"
    got, took = send(lab, client, sender, message(f"<{sender}>"))
    assert took < BOUND
    assert delivered(got) == ar(f"spf={result} smtp.mailfrom={sender}",
                                "dkim=none",
                                f"dmarc=none header.from={name}.{big_zone}")
    assert_alive(lab)


def test_txt_rrset_over_tcp_is_read_whole(lab, big_zone):
    """240 TXT records, one of them SPF: the resolver retries over TCP
    and check_host() finds the one record among the rest."""
    sender = f"a@tcp.{big_zone}"
    got, took = send(lab, INSIDE, sender, message(f"<{sender}>"))
    assert took < BOUND
    assert delivered(got) == ar(f"spf=pass smtp.mailfrom={sender}",
                                "dkim=none",
                                f"dmarc=none header.from=tcp.{big_zone}")
    assert_alive(lab)


def test_txt_rrset_larger_than_any_message(lab, big_zone, reconfigure):
    """NSD cannot send the RRset: a truncated answer over TCP as well.
    libunbound gives up with SERVFAIL: the records exist but cannot be
    had, a DNS failure, temperror (RFC 7208 section 2.6.6), not the
    absence of a record (none)."""
    reconfigure(on_dns_error="accept")
    sender = f"a@over64k.{big_zone}"
    got, took = send(lab, INSIDE, sender, message(f"<{sender}>"))
    assert took < BOUND
    assert delivered(got) == ar(
        f"spf=temperror smtp.mailfrom={sender}", "dkim=none",
        f"dmarc=none header.from=over64k.{big_zone}")
    assert (f"spfverify: over64k.{big_zone} type 16: server failure "
            "(rcode 2)") in lab.milter.logtext()
    assert_alive(lab)


def test_huge_garbage_dkim_key_is_bad_key(lab, key):
    """A key record of 10 KB whose p= is base64 of random bytes, no
    public key."""
    domain, sel = "bigkey.example", "bk1"
    garbage = base64.b64encode(os.urandom(7500)).decode()
    lab.dns.add_zone(domain, [("@", "TXT", SPF_PASS),
                              (f"{sel}._domainkey", "TXT",
                               f"v=DKIM1; k=rsa; p={garbage}")])
    sender = f"a@{domain}"
    msg, b8 = signed(key, domain, sel, message(f"<{sender}>"))
    assert verdicts(lab, msg) == [(domain, sel, "rsa-sha256", "fail",
                                   "bad key")]
    got, took = send(lab, INSIDE, sender, msg)
    assert took < BOUND
    assert delivered(got) == ar(
        f"spf=pass smtp.mailfrom={sender}",
        dkim_res("permerror", domain, sel, b8, "bad key"),
        f"dmarc=none header.from={domain}")
    assert_alive(lab)


def test_huge_dmarc_record_with_junk_tags(lab):
    """About 6 KB of tags no DMARC version defines, which a receiver
    must ignore (RFC 7489 section 6.3): the policy still applies."""
    domain = "bigdmarc.example"
    junk = "; ".join(f"x{i}=junk{i}" for i in range(500))
    record = f"v=DMARC1; p=none; {junk}"
    assert len(record) > 6000
    lab.dns.add_zone(domain, [("@", "TXT", SPF_PASS),
                              ("_dmarc", "TXT", record)])
    sender = f"a@{domain}"
    got, took = send(lab, OUTSIDE, sender, message(f"<{sender}>"))
    assert took < BOUND
    assert delivered(got) == ar(
        f"spf=fail smtp.mailfrom={sender}", "dkim=none",
        f"dmarc=fail (p=none dis=none) header.from={domain}")
    assert_alive(lab)


# Many signatures.

# milter/dkimverify.h DKIMVERIFY_MAX_SIGS.
MAX_SIGS = 8


def forged(field, i):
    """The DKIM-Signature field (bytes, CRLF-ended) with its b= replaced
    by one of the same length that starts with "F" and i on 7 digits:
    still valid base64 of a 2048-bit signature, but the wrong one."""
    value = re.sub(rb"\r\n", b"", field.split(b":", 1)[1])
    head, b = re.match(rb"(.*;\s*)b=([^;]*)$", value.rstrip(),
                       re.S).groups()
    b = re.sub(rb"\s", b"", b)
    new = f"F{i:07d}".encode() + b[8:]
    return b"DKIM-Signature:" + head.rstrip() + b"\r\n\tb=" + new + b"\r\n"


def test_1000_signatures_only_the_first_8_reported(lab, key):
    """One signature that holds on top, then 999 copies with a wrong b=
    (RFC 6376 section 6.1 lets a verifier limit the signatures it
    checks): eight resinfos, in header order, and a bounded time."""
    domain, sel = "many-sigs.example", "ms1"
    lab.dns.add_zone(domain, [("@", "TXT", SPF_PASS),
                              key.record(sel)])
    sender = f"a@{domain}"
    base = message(f"<{sender}>")
    msg, b8 = signed(key, domain, sel, base)
    real = msg[:-len(base)]
    fields = [real] + [forged(real, i) for i in range(1, 1000)]
    msg = b"".join(fields) + base
    assert len(fields) == 1000
    # The first eight, as an independent verifier sees them.
    first = b"".join(fields[:MAX_SIGS]) + base
    assert verdicts(lab, first) == (
        [(domain, sel, "rsa-sha256", "pass", None)]
        + [(domain, sel, "rsa-sha256", "fail", "signature mismatch")]
        * (MAX_SIGS - 1))
    got, took = send(lab, INSIDE, sender, msg)
    assert took < BOUND
    assert token_of(got.delivery.data) == token_of(msg)
    assert delivered(got) == ar(
        f"spf=pass smtp.mailfrom={sender}",
        "; ".join([dkim_res("pass", domain, sel, b8)]
                  + [dkim_res("fail", domain, sel, f"F{i:07d}",
                              "signature mismatch")
                     for i in range(1, MAX_SIGS)]),
        f"dmarc=none header.from={domain}")
    assert_alive(lab)


# CNAME loops: NSD serves them as they are (a self loop as one CNAME, a
# two-name loop as both); the resolver gives up on them.

@pytest.fixture(scope="module")
def loop_zone(lab):
    z = "loop.example"
    records = [("@", "TXT", SPF_PASS)]
    for name in ("spf-self", "spf-self-t"):
        records.append((name, "CNAME", f"{name}.{z}."))
    for name in ("spf-two", "spf-two-t"):
        records += [(f"a.{name}", "CNAME", f"b.{name}.{z}."),
                    (f"b.{name}", "CNAME", f"a.{name}.{z}.")]
    for sel in ("sl1", "sl2"):
        records.append((f"{sel}._domainkey", "CNAME",
                        f"{sel}._domainkey.{z}."))
    lab.dns.add_zone(z, records)
    for d in ("dmarc-loop.example", "dmarc-loop-t.example"):
        lab.dns.add_zone(d, [("@", "TXT", SPF_PASS),
                             ("_dmarc", "CNAME", f"_dmarc.{d}.")])
    return z


def test_zone_serves_the_loops(lab, loop_zone):
    r = lab.dns.query(f"spf-self.{loop_zone}", "TXT")
    assert [str(rrset) for rrset in r.answer] == [
        f"spf-self.{loop_zone}. 60 IN CNAME spf-self.{loop_zone}."]
    r = lab.dns.query(f"a.spf-two.{loop_zone}", "TXT")
    assert [str(rrset) for rrset in r.answer] == [
        f"a.spf-two.{loop_zone}. 60 IN CNAME b.spf-two.{loop_zone}.",
        f"b.spf-two.{loop_zone}. 60 IN CNAME a.spf-two.{loop_zone}."]


# libunbound ends a CNAME loop with SERVFAIL: a DNS error, not a name
# without records, so temperror (RFC 7208 section 2.6.6), not none.
@pytest.mark.parametrize("name", ["spf-self", "a.spf-two"])
def test_spf_cname_loop(lab, loop_zone, reconfigure, name):
    reconfigure(on_dns_error="accept")
    sender = f"a@{name}.{loop_zone}"
    from_addr = f"a@{loop_zone}"
    got, took = send(lab, INSIDE, sender, message(f"<{from_addr}>"))
    assert took < BOUND
    assert delivered(got) == ar(
        f"spf=temperror smtp.mailfrom={sender}", "dkim=none",
        f"dmarc=none header.from={loop_zone}")
    assert (f"spfverify: {name}.{loop_zone} type 16: server failure "
            "(rcode 2)") in lab.milter.logtext()
    assert_alive(lab)
    # The same loop under other names, which the resolver has not seen.
    reconfigure(on_dns_error="tempfail")
    sender = f"a@{name}-t.{loop_zone}"
    got, took = send(lab, INSIDE, sender, message(f"<{from_addr}>"))
    assert took < BOUND
    assert got.sub.mail == "250 2.1.0 Ok"
    assert got.sub.data == tempfailed_spf(sender.partition("@")[2])
    assert got.delivery is None
    assert_alive(lab)


def test_dkim_selector_cname_loop(lab, key, loop_zone, reconfigure):
    """The key lookup fails (the resolver's SERVFAIL): temperror, and
    451 with on_dns_error = tempfail."""
    reconfigure(on_dns_error="accept")
    sender = f"a@{loop_zone}"
    msg, b8 = signed(key, loop_zone, "sl1", message(f"<{sender}>"))
    got, took = send(lab, INSIDE, sender, msg)
    assert took < BOUND
    assert delivered(got) == ar(
        f"spf=pass smtp.mailfrom={sender}",
        dkim_res("temperror", loop_zone, "sl1", b8, "key lookup failed"),
        f"dmarc=none header.from={loop_zone}")
    reconfigure(on_dns_error="tempfail")
    msg, b8 = signed(key, loop_zone, "sl2", message(f"<{sender}>"))
    got, took = send(lab, INSIDE, sender, msg)
    assert took < BOUND
    assert got.sub.mail == "250 2.1.0 Ok"
    assert got.sub.data == tempfailed_dkim("sl2", loop_zone)
    assert got.delivery is None
    assert_alive(lab)


def test_dmarc_cname_loop(lab, loop_zone, reconfigure):
    """_dmarc.DOMAIN in a loop: the record cannot be fetched, temperror
    (not none: the organizational domain is the same, no fallback)."""
    reconfigure(on_dns_error="accept")
    domain = "dmarc-loop.example"
    sender = f"a@{domain}"
    got, took = send(lab, OUTSIDE, sender, message(f"<{sender}>"))
    assert took < BOUND
    assert delivered(got) == ar(
        f"spf=fail smtp.mailfrom={sender}", "dkim=none",
        f"dmarc=temperror header.from={domain}")
    reconfigure(on_dns_error="tempfail")
    domain = "dmarc-loop-t.example"
    sender = f"a@{domain}"
    got, took = send(lab, OUTSIDE, sender, message(f"<{sender}>"))
    assert took < BOUND
    assert got.sub.data == tempfailed_dmarc(domain)
    assert got.delivery is None
    assert_alive(lab)


# Malformed DMARC records (RFC 7489 section 6.3): a p= or pct= value
# outside the grammar makes the record unusable, permerror; a record
# that does not start with "v=DMARC1" is not a DMARC record, none. With
# p=reject read as written, the message would be refused.

@pytest.mark.parametrize("domain,record,result", [
    ("dm-rejectx.example", "v=DMARC1; p=rejectx", "permerror"),
    ("dm-pct200.example", "v=DMARC1; p=reject; pct=200", "permerror"),
    ("dm-v2.example", "v=DMARC2; p=reject", "none"),
])
def test_malformed_dmarc_record(lab, domain, record, result):
    lab.dns.add_zone(domain, [("@", "TXT", SPF_PASS),
                              ("_dmarc", "TXT", record)])
    sender = f"a@{domain}"
    got, _ = send(lab, OUTSIDE, sender, message(f"<{sender}>"))
    assert delivered(got) == ar(
        f"spf=fail smtp.mailfrom={sender}", "dkim=none",
        f"dmarc={result} header.from={domain}")
    assert_alive(lab)


# The IP address filter (man/sesgate.conf.5 ip_filter_block,
# ip_filter_allow).

def blocked(addr):
    return (f"554 5.7.1 Access denied: client address {addr} is blocked "
            "by the IP address filter")


def dialogue(lab, addr, sender, msg):
    """One SMTP connection as client `addr` (XCLIENT), every reply kept:
    {"xclient", "ehlo", "mail", "rcpt", "data"} as "CODE TEXT" (the
    first line of a multi-line reply), None for a command not sent."""
    out = dict.fromkeys(("xclient", "ehlo", "mail", "rcpt", "data"))
    xaddr = "IPV6:" + addr if ":" in addr else addr

    def first(code, text):
        return f"{code} {text.decode().splitlines()[0]}"
    with smtplib.SMTP("127.0.0.1", lab.postfix.port, timeout=30) as s:
        s.ehlo("xclient.sesgate.test")
        out["xclient"] = first(*s.docmd("XCLIENT",
                                        f"ADDR={xaddr} NAME=[UNAVAILABLE]"))
        s.ehlo_resp = None
        out["ehlo"] = first(*s.ehlo("mail." + sender.rpartition("@")[2]))
        out["mail"] = first(*s.docmd("MAIL", f"FROM:<{sender}>"))
        if out["mail"].startswith("250"):
            out["rcpt"] = first(*s.docmd("RCPT", f"TO:<{RCPT}>"))
        if out["rcpt"] is not None and out["rcpt"].startswith("250"):
            try:
                out["data"] = first(*s.data(msg))
            except smtplib.SMTPDataError as e:
                out["data"] = first(e.smtp_code, e.smtp_error)
    return out


def wait_delivery(lab, token, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = lab.sink.received(token)
        if got:
            return got[0]
        time.sleep(0.05)
    return None


def assert_refused(lab, addr):
    """addr is refused at connect, as Postfix presents a milter's reject
    of the connect stage: the greeting (after XCLIENT, the reply to
    XCLIENT) is a 554 of its own, EHLO is taken (smtpd_delay_reject),
    and MAIL FROM gets the milter's reply; nothing is delivered."""
    sender = f"a@{ALIVE}"
    msg = message(f"<{sender}>")
    got = dialogue(lab, addr, sender, msg)
    assert got == {"xclient": "554 mta.sesgate.test ESMTP not accepting "
                   "connections",
                   "ehlo": "250 mta.sesgate.test", "mail": blocked(addr),
                   "rcpt": None, "data": None}, got
    assert f'client={addr} stage=connect action="{blocked(addr)}"' in \
        lab.milter.logtext()
    assert lab.sink.received(token_of(msg)) == []


def assert_passes(lab, addr, spf="pass"):
    """addr is let through: its mail is delivered, checked inbound."""
    sender = f"a@{ALIVE}"
    msg = message(f"<{sender}>")
    got = dialogue(lab, addr, sender, msg)
    assert got["ehlo"].startswith("250 "), got
    assert got["data"].startswith(QUEUED), got
    d = wait_delivery(lab, token_of(msg))
    assert d is not None, "queued but not delivered"
    assert d.headers("Authentication-Results") == [
        ar(f"spf={spf} smtp.mailfrom={sender}", "dkim=none",
           f"dmarc=none header.from={ALIVE}")]


def test_blocked_client_is_refused_at_connect(lab, reconfigure):
    reconfigure(ip_filter_block="192.0.2.0/24")
    assert_refused(lab, "192.0.2.50")
    # The milter's own answer, played straight to it: a reject of the
    # connect stage, with the reply Postfix gave MAIL FROM.
    res = mc.send_message(lab.milter.spec, f"a@{ALIVE}", [RCPT],
                          message(f"<a@{ALIVE}>"), client_name="unknown",
                          client_addr="192.0.2.50")
    assert (res.action, res.stage, res.text) == (
        "reject", "connect", blocked("192.0.2.50"))
    # Outside the blocked network.
    assert_passes(lab, "198.51.100.50", spf="fail")


def test_allow_entry_wins_over_block(lab, reconfigure):
    reconfigure(ip_filter_block="192.0.2.0/24", ip_filter_allow="192.0.2.7")
    assert_passes(lab, "192.0.2.7")
    assert_refused(lab, "192.0.2.8")


def test_only_the_allowed_ipv6_client_passes(lab, reconfigure):
    reconfigure(ip_filter_block="0.0.0.0/0, ::/0",
                ip_filter_allow="2001:db8::5")
    assert_passes(lab, "2001:db8::5")
    for addr in ("2001:db8::6", "192.0.2.5", "203.0.113.5"):
        assert_refused(lab, addr)


def test_internal_client_is_never_filtered(lab, reconfigure):
    """From 127.0.0.1 (internal_hosts), without XCLIENT: no filter, no
    inbound check."""
    reconfigure(ip_filter_block="0.0.0.0/0, ::/0")
    sub = lab.postfix.submit(f"a@{ALIVE}", [RCPT])
    assert sub.data.startswith(QUEUED), sub.data
    d = wait_delivery(lab, sub.token)
    assert d is not None, "queued but not delivered"
    assert d.headers("Authentication-Results") == []


def test_reload_changes_the_lists(lab, reconfigure):
    reconfigure(ip_filter_block="192.0.2.0/24")
    assert_refused(lab, "192.0.2.60")
    assert_passes(lab, "203.0.113.60", spf="fail")
    reconfigure(ip_filter_block="203.0.113.0/24")
    assert_passes(lab, "192.0.2.60")
    assert_refused(lab, "203.0.113.60")
    reconfigure(ip_filter_allow="203.0.113.60")
    assert_passes(lab, "203.0.113.60", spf="fail")
    reconfigure(ip_filter_block="", ip_filter_allow="")
    assert_passes(lab, "203.0.113.61", spf="fail")


# The resolver's cache: an answer is kept for its TTL, not longer.

def test_answer_is_cached_for_its_ttl(lab):
    z = "cache.example"
    lab.dns.add_zone(z, [("ttl300", "TXT", SPF_PASS, 300),
                         ("ttl1", "TXT", SPF_PASS, 1)])
    for name in ("ttl300", "ttl1"):
        sender = f"a@{name}.{z}"
        got, _ = send(lab, INSIDE, sender, message(f"<{sender}>"))
        assert delivered(got) == ar(f"spf=pass smtp.mailfrom={sender}",
                                    "dkim=none",
                                    f"dmarc=none header.from={name}.{z}")
    changed = time.monotonic()
    lab.dns.replace_records(z, "ttl300", "TXT", ["v=spf1 -all"], ttl=300)
    lab.dns.replace_records(z, "ttl1", "TXT", ["v=spf1 -all"], ttl=1)
    assert lab.dns.txt(f"ttl300.{z}") == [[b"v=spf1 -all"]]
    assert lab.dns.txt(f"ttl1.{z}") == [[b"v=spf1 -all"]]
    time.sleep(max(0.0, 2.2 - (time.monotonic() - changed)))
    for name, result in (("ttl300", "pass"), ("ttl1", "fail")):
        sender = f"b@{name}.{z}"
        got, _ = send(lab, INSIDE, sender, message(f"<{sender}>"))
        assert delivered(got) == ar(f"spf={result} smtp.mailfrom={sender}",
                                    "dkim=none",
                                    f"dmarc=none header.from={name}.{z}")


def test_cached_answers_survive_a_reload(lab, reconfigure):
    """A reload keeps the answers the resolver had, unless it changes
    where or how much the resolver caches."""
    z = "reload-cache.example"
    lab.dns.add_zone(z, [("kept", "TXT", SPF_PASS, 300)])
    sender = f"a@kept.{z}"

    def spf():
        got, _ = send(lab, INSIDE, sender, message(f"<{sender}>"))
        return delivered(got).split("; ")[1]

    assert spf() == f"spf=pass smtp.mailfrom={sender}"
    lab.dns.replace_records(z, "kept", "TXT", ["v=spf1 -all"], ttl=300)
    assert lab.dns.txt(f"kept.{z}") == [[b"v=spf1 -all"]]
    reconfigure(on_dns_error="accept")
    assert spf() == f"spf=pass smtp.mailfrom={sender}"
    # Another bound: a new cache, and the record as it is now.
    reconfigure(dns_cache_size="2M")
    assert spf() == f"spf=fail smtp.mailfrom={sender}"


def test_missing_public_suffix_list_refuses_the_start(tmp_path,
                                                      redis_server):
    """Without the public suffix list DMARC cannot find organizational
    domains: -n says so and exits 78, and so does a start."""
    conf = str(tmp_path / "sesgate.conf")
    psl = str(tmp_path / "missing.dat")
    write_conf(conf, {"global": TEST_GLOBAL,
                      "redis": {"url": redis_server.url},
                      "milter": {"listen": "inet:1@127.0.0.1",
                                 "public_suffix_list": psl}})
    want = (f"sesgate-milter: {conf}: 1 problem:\n"
            f"[milter] public_suffix_list {psl}: No such file or "
            "directory\n")
    r = subprocess.run([MILTER, "-n", "-c", conf], capture_output=True,
                       text=True, timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (78, "", want)
    r = subprocess.run([MILTER, "-f", "-c", conf], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 78
    assert f"public_suffix_list: {psl}: No such file or directory" in \
        r.stderr
