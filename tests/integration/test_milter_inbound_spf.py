"""SPF (RFC 7208) in sesgate-milter's inbound checks, behind a real
Postfix: mail sent as a remote client (XCLIENT, tests/integration/
inbound.py) gets one Authentication-Results field whose spf= part is the
check_host() result for the MAIL FROM domain (or the HELO name when MAIL
FROM is <>), an optional Received-SPF field, and, with on_spf_fail =
reject, a 550 to MAIL FROM on fail. Records are served by a loopback NSD.

Every case has names of its own under spf.example (the milter's resolver
caches what it was told); the zone has no _dmarc record, so the dmarc=
part is always none. Names outside the served zones get REFUSED from
NSD, an RCODE that makes SPF temperror (RFC 7208 section 5).
"""
import re
import socket

import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest

import milterclient as mc
from inbound import AUTHSERV_ID, RCPT, InboundLab, message

ZONE = "spf.example"
IP = "192.0.2.10"
HELO = f"mail.{ZONE}"
# The [milter] defaults the configuration tests change and put back.
DEFAULTS = {"received_spf": "no", "on_spf_fail": "record",
            "on_dns_error": "tempfail"}


def n(name):
    """`name` under the test zone."""
    return f"{name}.{ZONE}"


def spf(name, record):
    return (name, "TXT", record)


# Ten DNS-querying terms (RFC 7208 section 4.6.4): three include:, four
# a:, three mx:, none of them matching 192.0.2.10, and no void lookup.
TEN_TERMS = ([f"include:i{i}.lim.{ZONE}" for i in (1, 2, 3)]
             + [f"a:h{i}.lim.{ZONE}" for i in (1, 2, 3, 4)]
             + [f"mx:m{i}.lim.{ZONE}" for i in (1, 2, 3)])

RECORDS = [
    # The HELO name of most cases: an address, no SPF record.
    (HELO, "A", IP),
    # One case per result.
    spf("p-ip4", "v=spf1 ip4:192.0.2.0/24 -all"),
    spf("p-ip6", "v=spf1 ip4:198.51.100.1 ip6:2001:db8::/32 -all"),
    spf("p-a", "v=spf1 a -all"),
    ("p-a", "A", "192.0.2.20"),
    spf("p-a-cidr", f"v=spf1 a:web.p-a-cidr.{ZONE}/24 -all"),
    ("web.p-a-cidr", "A", "203.0.113.77"),
    spf("p-mx", "v=spf1 mx -all"),
    ("p-mx", "MX", f"10 mx1.p-mx.{ZONE}."),
    ("p-mx", "MX", f"20 mx2.p-mx.{ZONE}."),
    ("mx1.p-mx", "A", "198.51.100.24"),
    ("mx2.p-mx", "A", "198.51.100.25"),
    # A record of two character-strings, joined without a space
    # (section 3.3).
    spf("p-split", ["v=spf1 ip4:198.51.100.0/24 ", "ip4:192.0.2.0/24 -all"]),
    spf("fail", "v=spf1 ip4:198.51.100.0/24 -all"),
    spf("softfail", "v=spf1 ip4:198.51.100.0/24 ~all"),
    spf("neutral", "v=spf1 ip4:198.51.100.0/24 ?all"),
    ("nospf", "A", IP),
    ("nospf", "TXT", "site-verification=0123456789"),
    # "v=spf10" is not "v=spf1" followed by a space (section 4.5).
    spf("spf10", "v=spf10 ip4:192.0.2.10 +all"),
    spf("perm-syntax", f"v=spf1 ip4:{IP} frobnicate:x.{ZONE} -all"),
    spf("perm-two", f"v=spf1 ip4:{IP} -all"),
    spf("perm-two", "v=spf1 ip4:198.51.100.0/24 -all"),
    spf("perm-cidr", "v=spf1 ip4:192.0.2.0/33 -all"),
    # include: (section 5.2).
    spf("inc-pass", f"v=spf1 include:_spf.inc-pass.{ZONE} -all"),
    spf("_spf.inc-pass", "v=spf1 ip4:192.0.2.0/24 -all"),
    spf("inc-fail", f"v=spf1 include:_spf.inc-fail.{ZONE} -all"),
    spf("_spf.inc-fail", "v=spf1 ip4:198.51.100.0/24 -all"),
    spf("inc-nomatch", f"v=spf1 include:_spf.inc-nomatch.{ZONE} ~all"),
    spf("_spf.inc-nomatch", "v=spf1 ip4:198.51.100.0/24 -all"),
    spf("inc-none", f"v=spf1 include:_spf.inc-none.{ZONE} ip4:{IP} -all"),
    ("_spf.inc-none", "A", IP),
    spf("inc-nx", f"v=spf1 include:_spf.inc-nx.{ZONE} ip4:{IP} -all"),
    # redirect= (section 6.1), ignored when the record has an "all".
    spf("redir-pass", f"v=spf1 redirect=_spf.redir-pass.{ZONE}"),
    spf("_spf.redir-pass", f"v=spf1 ip4:{IP} -all"),
    spf("redir-fail", f"v=spf1 redirect=_spf.redir-fail.{ZONE}"),
    spf("_spf.redir-fail", "v=spf1 ip4:198.51.100.1 -all"),
    spf("redir-all", "v=spf1 ip4:198.51.100.1 ?all "
        f"redirect=_spf.redir-all.{ZONE}"),
    spf("_spf.redir-all", f"v=spf1 ip4:{IP} -all"),
    # Macros (section 7).
    spf("mac-i", f"v=spf1 exists:%{{i}}.ip.mac-i.{ZONE} -all"),
    (f"{IP}.ip.mac-i", "A", "127.0.0.2"),
    spf("mac-s", f"v=spf1 exists:%{{s}}.s.{ZONE} -all"),
    (f"alice@mac-s.{ZONE}.s.{ZONE}", "A", "127.0.0.2"),
    spf("mac-l", f"v=spf1 exists:%{{l}}.lp.mac-l.{ZONE} -all"),
    ("alice.lp.mac-l", "A", "127.0.0.2"),
    # %{d} is the domain being checked, the included one inside include:;
    # %{o} stays the MAIL FROM domain.
    spf("mac-d", f"v=spf1 include:_spf.mac-d.{ZONE} -all"),
    spf("_spf.mac-d", f"v=spf1 exists:%{{d}}.d.{ZONE} -all"),
    (f"_spf.mac-d.{ZONE}.d.{ZONE}", "A", "127.0.0.2"),
    spf("mac-o", f"v=spf1 include:_spf.mac-o.{ZONE} -all"),
    spf("_spf.mac-o", f"v=spf1 exists:%{{o}}.o.{ZONE} -all"),
    (f"mac-o.{ZONE}.o.{ZONE}", "A", "127.0.0.2"),
    # A macro in an include: target, and the example of section 7.4:
    # reversed address, %{v} and the two rightmost labels of the domain.
    spf("mac-inc", f"v=spf1 include:%{{l}}.users.mac-inc.{ZONE} -all"),
    spf("alice.users.mac-inc", f"v=spf1 ip4:{IP} -all"),
    spf("mac-ir", "v=spf1 exists:%{ir}.%{v}._spf.%{d2} -all"),
    ("10.2.0.192.in-addr._spf", "A", "127.0.0.2"),
    # Void lookups (section 4.6.4): a name that does not exist, a name
    # without the record type asked (v2 has TXT only), an MX query
    # without answer; at most two are allowed.
    spf("void2", f"v=spf1 a:v1.void2.{ZONE} a:v2.void2.{ZONE} "
        f"ip4:{IP} -all"),
    ("v2.void2", "TXT", "no address here"),
    spf("void3", f"v=spf1 a:v1.void3.{ZONE} a:v2.void3.{ZONE} "
        f"mx:v3.void3.{ZONE} ip4:{IP} -all"),
    ("v2.void3", "TXT", "no address here"),
    # The ten-lookup limit: ten terms are evaluated, eleven are not.
    spf("lim10", " ".join(["v=spf1"] + TEN_TERMS + [f"ip4:{IP} -all"])),
    spf("lim11", " ".join(["v=spf1"] + TEN_TERMS
                          + [f"a:h5.lim.{ZONE}", f"ip4:{IP} -all"])),
    ("i1.lim", "TXT", "v=spf1 ip4:203.0.113.1 -all"),
    ("i2.lim", "TXT", "v=spf1 ip4:203.0.113.2 -all"),
    ("i3.lim", "TXT", "v=spf1 ip4:203.0.113.3 -all"),
    ("h1.lim", "A", "203.0.113.11"),
    ("h2.lim", "A", "203.0.113.12"),
    ("h3.lim", "A", "203.0.113.13"),
    ("h4.lim", "A", "203.0.113.14"),
    ("h5.lim", "A", "203.0.113.15"),
    ("m1.lim", "MX", f"10 mx.lim.{ZONE}."),
    ("m2.lim", "MX", f"10 mx.lim.{ZONE}."),
    ("m3.lim", "MX", f"10 mx.lim.{ZONE}."),
    ("mx.lim", "A", "203.0.113.25"),
    # HELO identity (section 2.3).
    spf("helo-pass", f"v=spf1 ip4:{IP} -all"),
    spf("helo-fail", "v=spf1 ip4:198.51.100.1 -all"),
    # Received-SPF and on_spf_fail.
    spf("rs-pass", "v=spf1 ip4:192.0.2.0/24 -all"),
    spf("rs-fail", "v=spf1 ip4:198.51.100.0/24 -all"),
    spf("rj-fail", "v=spf1 ip4:198.51.100.0/24 -all"),
    spf("rj-softfail", "v=spf1 ip4:198.51.100.0/24 ~all"),
    spf("rj-pass", "v=spf1 ip4:192.0.2.0/24 -all"),
    # After the odd senders: a name that passes.
    spf("after-odd", "v=spf1 ip4:192.0.2.0/24 -all"),
    ("odd", "A", IP),
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    # verify_from = no: the lab has no Redis.
    lab = InboundLab(tmp_path_factory, milter={"verify_from": "no"})
    try:
        lab.dns.add_zone(ZONE, RECORDS)
    except BaseException:
        lab.close()
        raise
    yield lab
    lab.close()


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


@pytest.fixture(scope="module")
def silent():
    """A UDP socket on 127.0.0.1 that never answers: a DNS server that
    times out. Its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture(scope="module")
def timeout_lab(tmp_path_factory, silent):
    """A second lab whose milter asks only the silent server."""
    lab = InboundLab(tmp_path_factory,
                     milter={"verify_from": "no",
                             "dns_resolver": f"127.0.0.1@{silent}",
                             "dns_timeout": "1s",
                             "on_dns_error": "accept"})
    yield lab
    lab.close()


def ar(result, identity, from_domain):
    """Our Authentication-Results value, unfolded."""
    return (f"{AUTHSERV_ID}; spf={result} {identity}; dkim=none; "
            f"dmarc=none header.from={from_domain}")


def mailfrom(result, sender):
    return ar(result, f"smtp.mailfrom={sender}", sender.rpartition("@")[2])


def send(lab, sender, client=IP, helo=HELO, from_addr=None):
    """Send as `client` greeting with `helo`, MAIL FROM `sender` and From
    `from_addr` (the sender by default)."""
    return lab.send(client, helo, sender, message(f"<{from_addr or sender}>"))


def unfold(value):
    """A field value unfolded as the milter's specification reads it:
    each line end and the white space character after it become one
    space (Delivery.headers() drops the CRLF only, keeping a tab)."""
    return re.sub(r"\r?\n[ \t]", " ", value).strip()


def fields(got, name):
    """The values of the fields `name` of the message got (an Outcome)
    delivered, top first, unfolded."""
    head = got.delivery.data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    head = re.sub(r"\r\n(?=[ \t])", "\n", head)
    out = []
    for line in head.split("\r\n"):
        k, sep, v = line.partition(":")
        if sep and k.strip().lower() == name.lower():
            out.append(unfold(v))
    return out


def delivered(got):
    """got was accepted at every stage and reached the sink, with one
    Authentication-Results field; its value."""
    assert got.sub.mail == "250 2.1.0 Ok"
    assert got.sub.rcpt == ["250 2.1.5 Ok"]
    assert got.sub.data is not None
    assert got.sub.data.startswith("250 2.0.0 Ok: queued as "), \
        got.sub.data
    assert got.delivery is not None, "accepted but not delivered"
    ars = fields(got, "Authentication-Results")
    assert len(ars) == 1, ars
    return ars[0]


def refused_spf(domain, ip):
    return (f"550 5.7.23 SPF check failed: {domain} does not designate "
            f"{ip} as a permitted sender")


def tempfailed_spf(domain):
    return (f"451 4.7.24 SPF check for {domain} failed temporarily; try "
            "again later")


def test_zone_serves_what_the_cases_rely_on(lab, silent):
    """The records as the milter's resolver will get them from NSD."""
    d = lab.dns
    assert d.txt(n("p-ip4")) == [[b"v=spf1 ip4:192.0.2.0/24 -all"]]
    assert d.txt(n("p-split")) == [[b"v=spf1 ip4:198.51.100.0/24 ",
                                    b"ip4:192.0.2.0/24 -all"]]
    assert sorted(d.txt(n("perm-two"))) == [
        [b"v=spf1 ip4:192.0.2.10 -all"],
        [b"v=spf1 ip4:198.51.100.0/24 -all"]]
    # An eleven-term record is longer than one character-string.
    assert len(d.txt(n("lim11"))[0]) == 2
    assert b"".join(d.txt(n("lim11"))[0]).decode().split() == (
        ["v=spf1"] + TEN_TERMS + [f"a:h5.lim.{ZONE}", f"ip4:{IP}", "-all"])
    for name in (f"alice@mac-s.{ZONE}.s.{ZONE}", f"{IP}.ip.mac-i.{ZONE}",
                 f"_spf.mac-d.{ZONE}.d.{ZONE}", f"mac-o.{ZONE}.o.{ZONE}",
                 f"10.2.0.192.in-addr._spf.{ZONE}"):
        r = d.query(name, "A")
        assert [str(rd) for rrset in r.answer for rd in rrset] == \
            ["127.0.0.2"], name
    # Void: no name, or a name without the type asked.
    for name, rtype, rcode in ((n("nx"), "TXT", dns.rcode.NXDOMAIN),
                               (n("v1.void3"), "A", dns.rcode.NXDOMAIN),
                               (n("v2.void3"), "A", dns.rcode.NOERROR),
                               (n("v3.void3"), "MX", dns.rcode.NXDOMAIN),
                               (n("_spf.inc-none"), "TXT",
                                dns.rcode.NOERROR)):
        r = d.query(name, rtype)
        assert (r.rcode(), r.answer) == (rcode, []), name
    # Outside the zones: REFUSED.
    assert d.query("r1.refused.example", "TXT").rcode() == \
        dns.rcode.REFUSED
    with pytest.raises(dns.exception.Timeout):
        dns.query.udp(dns.message.make_query(n("p-ip4"), "TXT"),
                      "127.0.0.1", port=silent, timeout=0.3)


@pytest.mark.parametrize("client,name,result", [
    (IP, "p-ip4", "pass"),
    ("2001:db8::10", "p-ip6", "pass"),
    ("192.0.2.20", "p-a", "pass"),
    ("203.0.113.5", "p-a-cidr", "pass"),
    ("198.51.100.25", "p-mx", "pass"),
    (IP, "p-split", "pass"),
    (IP, "fail", "fail"),
    ("2001:db8::10", "p-ip4", "fail"),
    (IP, "softfail", "softfail"),
    (IP, "neutral", "neutral"),
    (IP, "nospf", "none"),
    (IP, "spf10", "none"),
    (IP, "nx", "none"),
    (IP, "perm-syntax", "permerror"),
    (IP, "perm-two", "permerror"),
    (IP, "perm-cidr", "permerror"),
], ids=lambda v: v if "." not in v and ":" not in v else None)
def test_result(lab, client, name, result):
    sender = f"a@{n(name)}"
    assert delivered(send(lab, sender, client)) == mailfrom(result, sender)


@pytest.mark.parametrize("name,result", [
    ("inc-pass", "pass"),
    # The included record fails: no match, the outer -all decides.
    ("inc-fail", "fail"),
    # ... or the outer ~all.
    ("inc-nomatch", "softfail"),
    # The included name has no SPF record, or does not exist: permerror,
    # even though a later term would match.
    ("inc-none", "permerror"),
    ("inc-nx", "permerror"),
    ("redir-pass", "pass"),
    ("redir-fail", "fail"),
    ("redir-all", "neutral"),
])
def test_include_and_redirect(lab, name, result):
    sender = f"a@{n(name)}"
    assert delivered(send(lab, sender)) == mailfrom(result, sender)


@pytest.mark.parametrize("client,sender,result", [
    (IP, f"a@{n('mac-i')}", "pass"),
    ("192.0.2.11", f"a@{n('mac-i')}", "fail"),
    (IP, f"alice@{n('mac-s')}", "pass"),
    (IP, f"bob@{n('mac-s')}", "fail"),
    (IP, f"alice@{n('mac-l')}", "pass"),
    (IP, f"bob@{n('mac-l')}", "fail"),
    (IP, f"a@{n('mac-d')}", "pass"),
    (IP, f"a@{n('mac-o')}", "pass"),
    (IP, f"alice@{n('mac-inc')}", "pass"),
    (IP, f"a@{n('mac-ir')}", "pass"),
    ("192.0.2.11", f"a@{n('mac-ir')}", "fail"),
])
def test_macro(lab, client, sender, result):
    assert delivered(send(lab, sender, client)) == mailfrom(result, sender)


def test_two_void_lookups_are_allowed(lab):
    sender = f"a@{n('void2')}"
    assert delivered(send(lab, sender)) == mailfrom("pass", sender)


def test_third_void_lookup_is_permerror(lab):
    sender = f"a@{n('void3')}"
    assert delivered(send(lab, sender)) == mailfrom("permerror", sender)


def test_ten_dns_lookups_are_evaluated(lab):
    sender = f"a@{n('lim10')}"
    assert delivered(send(lab, sender)) == mailfrom("pass", sender)


def test_eleventh_dns_lookup_is_permerror(lab):
    sender = f"a@{n('lim11')}"
    assert delivered(send(lab, sender)) == mailfrom("permerror", sender)


@pytest.mark.parametrize("helo,result", [
    (n("helo-pass"), "pass"),
    (n("helo-fail"), "fail"),
])
def test_null_sender_checks_the_helo_name(lab, helo, result):
    got = send(lab, "", helo=helo, from_addr=f"postmaster@{helo}")
    assert delivered(got) == ar(result, f"smtp.helo={helo}", helo)


def test_received_spf(lab, reconfigure):
    reconfigure(received_spf="yes")
    for name, client, result in (("rs-pass", IP, "pass"),
                                 ("rs-fail", "192.0.2.33", "fail")):
        sender = f"a@{n(name)}"
        got = send(lab, sender, client)
        assert delivered(got) == mailfrom(result, sender)
        (field,) = fields(got, "Received-SPF")
        assert field.split(" ", 1)[0] == result, field
        assert f" client-ip={client};" in field, field
        assert f" envelope-from={sender};" in field, field
        assert f" helo={HELO};" in field, field


def test_no_received_spf_by_default(lab):
    sender = f"b@{n('rs-pass')}"
    got = send(lab, sender)
    assert delivered(got) == mailfrom("pass", sender)
    assert fields(got, "Received-SPF") == []


def test_on_spf_fail_reject(lab, reconfigure):
    reconfigure(on_spf_fail="reject")
    msg = message(f"<a@{n('rj-fail')}>")
    got = lab.send(IP, HELO, f"a@{n('rj-fail')}", msg)
    assert got.sub.mail == refused_spf(n("rj-fail"), IP)
    assert (got.sub.rcpt, got.sub.data, got.delivery) == ([], None, None)
    # The HELO identity of a null sender is refused the same way.
    helo = n("helo-fail")
    got = lab.send("192.0.2.44", helo, "", message(f"<postmaster@{helo}>"))
    assert got.sub.mail == refused_spf(helo, "192.0.2.44")
    assert (got.sub.rcpt, got.sub.data, got.delivery) == ([], None, None)
    # Other results are not refused.
    for name, result in (("rj-softfail", "softfail"), ("rj-pass", "pass"),
                         ("nospf", "none")):
        sender = f"r@{n(name)}"
        assert delivered(send(lab, sender)) == mailfrom(result, sender)
    assert lab.milter.proc.poll() is None


def test_refused_query_is_temperror(lab, reconfigure):
    """A lookup answered REFUSED (an RCODE other than 0 and 3) is
    temperror. The From domain is in the served zone, so DMARC is none;
    SPF's temperror alone makes end of data 451 with on_dns_error =
    tempfail."""
    domain = "r1.refused.example"
    got = send(lab, f"a@{domain}", from_addr=f"a@{n('odd')}")
    assert got.sub.mail == "250 2.1.0 Ok"
    assert got.sub.data == tempfailed_spf(domain)
    assert got.delivery is None
    reconfigure(on_dns_error="accept")
    domain = "r2.refused.example"
    got = send(lab, f"a@{domain}", from_addr=f"a@{n('odd')}")
    assert delivered(got) == ar("temperror", f"smtp.mailfrom=a@{domain}",
                                n("odd"))


def test_dns_timeout_accept_delivers_temperror(timeout_lab):
    """Nothing answers: SPF and DMARC are both temperror."""
    domain = n("t1")
    got = send(timeout_lab, f"a@{domain}")
    assert delivered(got) == (
        f"{AUTHSERV_ID}; spf=temperror smtp.mailfrom=a@{domain}; "
        f"dkim=none; dmarc=temperror header.from={domain}")


def test_dns_timeout_tempfail(timeout_lab):
    timeout_lab.reconfigure(on_dns_error="tempfail")
    try:
        domain = n("t2")
        got = send(timeout_lab, f"a@{domain}")
        assert got.sub.mail == "250 2.1.0 Ok"
        assert got.sub.data == tempfailed_spf(domain)
        assert got.delivery is None
    finally:
        timeout_lab.reconfigure(on_dns_error="accept")


def milter_ar(lab, sender, from_addr, client=IP, helo=HELO):
    """Play one inbound transaction straight to the milter, as an MTA
    that takes any MAIL FROM would: the unfolded values of the
    Authentication-Results fields it inserts."""
    res = mc.send_message(lab.milter.spec, sender, [RCPT],
                          message(f"<{from_addr}>"), client_name="unknown",
                          client_addr=client, helo=helo)
    assert res.action == "continue", res
    return [unfold(m.value) for m in res.header_edits
            if m.kind == "insert_header"
            and m.name.lower() == "authentication-results"]


# RFC 7208 section 4.3: a malformed domain, or one of a single label,
# makes check_host() return none without a lookup; permerror is taken
# too. The From domain is a plain one, so that DMARC is none.
ODD_RESULTS = ("none", "permerror")
# Postfix refuses these itself (501 5.1.7 Bad sender address syntax);
# they reach the milter from an MTA that takes them.
MALFORMED = [
    # A label longer than 63 octets (RFC 1035 section 2.3.4).
    ("long-label", "a@" + "x" * 64 + f".{ZONE}"),
    # A name longer than 253 characters in all.
    ("long-name", "a@" + "abcdefghijklmnopqrstu." * 12 + ZONE),
    # An empty label.
    ("empty-label", f"a@odd..{ZONE}"),
]
# Postfix takes these.
ODD = [
    # A trailing dot; nx.spf.example has no record either way.
    ("trailing-dot", f"a@{n('nx')}."),
    # A single label (NSD would refuse a query for it: temperror).
    ("one-label", "a@localdomain"),
]


@pytest.mark.parametrize("sender", [s for _, s in MALFORMED],
                         ids=[i for i, _ in MALFORMED])
def test_malformed_sender_domain(lab, sender):
    assert milter_ar(lab, sender, f"a@{n('odd')}") in (
        [ar(r, f"smtp.mailfrom={sender}", n("odd"))]
        for r in ODD_RESULTS)
    assert lab.milter.proc.poll() is None
    # The same path with a plain sender, and Postfix's.
    after = f"a@{n('after-odd')}"
    assert milter_ar(lab, after, after) == [mailfrom("pass", after)]
    assert delivered(send(lab, after)) == mailfrom("pass", after)


@pytest.mark.parametrize("sender", [s for _, s in ODD],
                         ids=[i for i, _ in ODD])
def test_odd_sender_domain(lab, sender):
    got = send(lab, sender, from_addr=f"a@{n('odd')}")
    value = delivered(got)
    # The address as given, or without its trailing dot.
    assert value in (ar(r, f"smtp.mailfrom={s}", n("odd"))
                     for r in ODD_RESULTS
                     for s in {sender, sender.rstrip(".")}), value
    assert lab.milter.proc.poll() is None


def test_rcpt_is_relayed_unchanged(lab):
    """The inbound check does not change the envelope."""
    sender = f"c@{n('p-ip4')}"
    got = send(lab, sender)
    assert delivered(got) == mailfrom("pass", sender)
    assert (got.delivery.mail_from, got.delivery.rcpts) == (sender, [RCPT])
