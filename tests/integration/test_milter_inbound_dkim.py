"""DKIM verification of inbound mail by sesgate-milter behind a real
Postfix (RFC 6376; Ed25519 keys, RFC 8463): messages are signed by
signers independent of sesgate (Debian's dkimpy, and Mail::DKIM through
mail_dkim_sign.pl), their keys published by the loopback DNS server, and
sent as a remote client would (inbound.py). Each test asserts the reply
to DATA and the exact Authentication-Results field the milter added.

Before a message is sent, dkimpy (dkimcheck.py) must reach the verdict
the test expects, and must reach it again on the message as delivered:
a signing mistake, or Postfix changing signed content, cannot pass for a
fault of the milter.

The signing domains publish neither SPF nor DMARC records and the
envelope sender is in the signing domain, so the field reads
"mx.sesgate.test; spf=none smtp.mailfrom=...; dkim=...; dmarc=none
header.from=..." unless a test publishes a DMARC record. Every test uses
names of its own: the milter's resolver caches answers.
"""
import os
import re
import subprocess
import time
from unittest import mock

import dkim
import dkim.util
import pytest

import dkimcheck
from inbound import AUTHSERV_ID, InboundLab, message

HERE = os.path.dirname(os.path.abspath(__file__))
PERL_SIGNER = os.path.join(HERE, "mail_dkim_sign.pl")
SIGNED = ["from", "to", "subject", "date", "message-id"]
QUEUED = "250 2.0.0 Ok: queued as"
# How long ago the expired signature expired: more than the clock drift
# verifiers allow (dkimpy 10 hours, libopendkim 5 minutes by default).
EXPIRED_AGO = 2 * 86400


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    return {"rsa": dkimcheck.make_key(d, "rsa", 2048, "rsa"),
            "other": dkimcheck.make_key(d, "rsa", 2048, "other"),
            "ed": dkimcheck.make_key(d, "ed25519", name="ed")}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = InboundLab(tmp_path_factory)
    yield lab
    lab.close()


def sender(domain):
    return f"sender@{domain}"


def unsigned(domain, **kw):
    return message(f"Sender <{sender(domain)}>", **kw)


def dkimpy_sign(msg, key, domain, selector, canon="relaxed/relaxed"):
    """msg with a DKIM-Signature made by dkimpy on top."""
    alg = b"rsa-sha256" if key.kind == "rsa" else b"ed25519-sha256"
    field = dkim.sign(msg, selector.encode(), domain.encode(),
                      key.dkimpy_private(), signature_algorithm=alg,
                      canonicalize=tuple(c.encode()
                                         for c in canon.split("/")),
                      include_headers=[h.encode() for h in SIGNED])
    return field + msg


def perl_sign(msg, key, domain, selector, canon="relaxed/relaxed",
              t=None, x=None):
    """msg with an rsa-sha256 DKIM-Signature made by Mail::DKIM on top;
    t and x set t= and x=."""
    args = ["perl", PERL_SIGNER, key.path, domain, selector, "rsa-sha256",
            canon]
    if t is not None:
        args += [str(t), str(x)]
    out = subprocess.run(args, input=msg, capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout.startswith(b"DKIM-Signature:"), out.stdout
    return out.stdout + msg


def signature_fields(msg):
    """The DKIM-Signature values of msg, topmost first, as bytes."""
    headers, _ = dkim.rfc822_parse(msg)
    return [v for n, v in headers if n.lower() == b"dkim-signature"]


def b8(msg, index=0):
    """The first 8 characters of b= of the index-th DKIM-Signature of
    msg (from the top), white space removed."""
    tags = dkim.util.parse_tag_value(signature_fields(msg)[index])
    return re.sub(rb"\s", b"", tags[b"b"])[:8].decode()


def dkim_res(result, domain, selector, b, alg="rsa-sha256", reason=None):
    """One dkim= resinfo as the milter writes it."""
    why = f" ({reason})" if reason else ""
    return (f"dkim={result}{why} header.d={domain} header.s={selector} "
            f"header.a={alg} header.b={b}")


def want_ar(domain, *dkims, dmarc=None):
    """The unfolded Authentication-Results of a message from
    sender(domain) whose From is in domain (no SPF record)."""
    return "; ".join([AUTHSERV_ID, f"spf=none smtp.mailfrom={sender(domain)}",
                      *dkims, dmarc or f"dmarc=none header.from={domain}"])


def ars(got):
    """The Authentication-Results values of the message got (an Outcome)
    delivered, top first, unfolded as the milter's specification reads
    them: each CRLF and the white space character after it become one
    space (Delivery.headers() drops the CRLF only, keeping a tab)."""
    head = got.delivery.data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    head = re.sub(r"\r\n[ \t]", " ", head)
    out = []
    for line in head.split("\r\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "authentication-results":
            out.append(value.strip())
    return out


def verdicts(lab, msg, at=None):
    """dkimpy's (d, s, a, result, reason) for each signature of msg, top
    first; at= verifies as of that time instead of now."""
    if at is None:
        return dkimcheck.summaries(dkimcheck.verify(msg, lab.dns))
    with mock.patch("time.time", return_value=float(at)):
        return dkimcheck.summaries(dkimcheck.verify(msg, lab.dns))


def send(lab, client, domain, msg, independent, at=None):
    """Check dkimpy's verdicts on msg, send it from client as
    sender(domain), check it was queued and delivered with the same
    verdicts; the Outcome."""
    assert verdicts(lab, msg, at) == independent
    got = lab.send(client, f"mail.{domain}", sender(domain), msg)
    assert got.sub.data is not None and got.sub.data.startswith(QUEUED), \
        got.sub.data
    assert got.delivery is not None, "queued but not delivered"
    assert verdicts(lab, got.delivery.data, at) == independent
    return got


@pytest.mark.parametrize("signer,canon,client", [
    ("dkimpy", "relaxed/relaxed", "192.0.2.11"),
    ("dkimpy", "simple/simple", "192.0.2.12"),
    ("maildkim", "relaxed/relaxed", "192.0.2.13"),
    ("maildkim", "simple/simple", "192.0.2.14"),
])
def test_valid_rsa_signature_passes(lab, keys, signer, canon, client):
    domain = f"{signer}-{canon.split('/')[0]}.example"
    sel = f"{signer}{canon[0]}"
    lab.dns.add_zone(domain, [keys["rsa"].record(sel)])
    sign = dkimpy_sign if signer == "dkimpy" else perl_sign
    msg = sign(unsigned(domain), keys["rsa"], domain, sel, canon)
    got = send(lab, client, domain, msg,
               [(domain, sel, "rsa-sha256", "pass", None)])
    assert ars(got) == [want_ar(domain,
                                dkim_res("pass", domain, sel, b8(msg)))]


def test_folded_signed_header_passes(lab, keys):
    # RFC 5322 section 2.2.3: a field may span lines; with simple header
    # canonicalization the signature covers the CRLF of each fold, which
    # the verifier must see as it was sent.
    domain, sel = "folded.example", "fo1"
    lab.dns.add_zone(domain, [keys["rsa"].record(sel)])
    msg = perl_sign(unsigned(domain, subject="a subject\r\n\tthat is folded"),
                    keys["rsa"], domain, sel, "simple/simple")
    got = send(lab, "192.0.2.26", domain, msg,
               [(domain, sel, "rsa-sha256", "pass", None)])
    assert ars(got) == [want_ar(domain,
                                dkim_res("pass", domain, sel, b8(msg)))]


def test_valid_ed25519_signature_passes(lab, keys):
    domain, sel = "ed25519.example", "ed1"
    lab.dns.add_zone(domain, [keys["ed"].record(sel)])
    msg = dkimpy_sign(unsigned(domain), keys["ed"], domain, sel)
    got = send(lab, "192.0.2.15", domain, msg,
               [(domain, sel, "ed25519-sha256", "pass", None)])
    assert ars(got) == [want_ar(domain,
                                dkim_res("pass", domain, sel, b8(msg),
                                         alg="ed25519-sha256"))]


def test_header_altered_after_signing_fails(lab, keys):
    domain, sel = "altered-header.example", "ah1"
    lab.dns.add_zone(domain, [keys["rsa"].record(sel)])
    msg = dkimpy_sign(unsigned(domain, subject="as signed"), keys["rsa"],
                      domain, sel)
    msg = msg.replace(b"\r\nSubject: as signed\r\n",
                      b"\r\nSubject: changed on the way\r\n")
    got = send(lab, "192.0.2.16", domain, msg,
               [(domain, sel, "rsa-sha256", "fail", "signature mismatch")])
    assert ars(got) == [want_ar(domain,
                                dkim_res("fail", domain, sel, b8(msg),
                                         reason="signature mismatch"))]


def test_body_altered_after_signing_fails(lab, keys):
    domain, sel = "altered-body.example", "ab1"
    lab.dns.add_zone(domain, [keys["rsa"].record(sel)])
    msg = dkimpy_sign(unsigned(domain, body="Pay 10 EUR.\r\n"),
                      keys["rsa"], domain, sel)
    msg = msg.replace(b"\r\n\r\nPay 10 EUR.\r\n", b"\r\n\r\nPay 99 EUR.\r\n")
    got = send(lab, "192.0.2.17", domain, msg,
               [(domain, sel, "rsa-sha256", "fail", "body hash mismatch")])
    assert ars(got) == [want_ar(domain,
                                dkim_res("fail", domain, sel, b8(msg),
                                         reason="body hash mismatch"))]


def test_revoked_key_is_permerror(lab, keys):
    domain, sel = "revoked.example", "rv1"
    lab.dns.add_zone(domain, [(f"{sel}._domainkey", "TXT",
                               "v=DKIM1; k=rsa; p=")])
    msg = dkimpy_sign(unsigned(domain), keys["rsa"], domain, sel)
    got = send(lab, "192.0.2.18", domain, msg,
               [(domain, sel, "rsa-sha256", "fail", "key revoked")])
    assert ars(got) == [want_ar(domain,
                                dkim_res("permerror", domain, sel, b8(msg),
                                         reason="key revoked"))]


def test_missing_key_is_permerror(lab, keys):
    # The zone exists, with another selector only: nothing at nk1.
    domain, sel = "no-key.example", "nk1"
    lab.dns.add_zone(domain, [keys["rsa"].record("other")])
    msg = dkimpy_sign(unsigned(domain), keys["rsa"], domain, sel)
    got = send(lab, "192.0.2.19", domain, msg,
               [(domain, sel, "rsa-sha256", "fail", "no key")])
    assert ars(got) == [want_ar(domain,
                                dkim_res("permerror", domain, sel, b8(msg),
                                         reason="no key"))]


def test_expired_signature_is_neutral(lab, keys):
    # RFC 6376 section 3.5: x= in the past. Made by Mail::DKIM (dkimpy
    # writes no x=); dkimpy refuses it now, and passes it as of its t=:
    # the expiry is its only fault.
    domain, sel = "expired.example", "ex1"
    lab.dns.add_zone(domain, [keys["rsa"].record(sel)])
    t = int(time.time()) - EXPIRED_AGO - 3600
    x = t + 3600
    msg = perl_sign(unsigned(domain), keys["rsa"], domain, sel, t=t, x=x)
    tags = dkim.util.parse_tag_value(signature_fields(msg)[0])
    assert (tags[b"t"], tags[b"x"]) == (str(t).encode(), str(x).encode())
    now = verdicts(lab, msg)
    assert now == [(domain, sel, "rsa-sha256", "fail", "bad signature")]
    got = send(lab, "192.0.2.20", domain, msg,
               [(domain, sel, "rsa-sha256", "pass", None)], at=t + 60)
    assert ars(got) == [want_ar(domain,
                                dkim_res("neutral", domain, sel, b8(msg),
                                         reason="signature expired"))]


def test_two_signatures_reported_top_first(lab, keys):
    # The lower signature (dkimpy, two-a.example) holds; the upper one
    # (Mail::DKIM, two-b.example) was made with a key other than the one
    # two-b.example publishes.
    good, bad = "two-a.example", "two-b.example"
    lab.dns.add_zone(good, [keys["rsa"].record("ta1")])
    lab.dns.add_zone(bad, [keys["other"].record("tb1")])
    msg = dkimpy_sign(unsigned(good), keys["rsa"], good, "ta1")
    msg = perl_sign(msg, keys["rsa"], bad, "tb1")
    got = send(lab, "192.0.2.21", good, msg,
               [(bad, "tb1", "rsa-sha256", "fail", "signature mismatch"),
                (good, "ta1", "rsa-sha256", "pass", None)])
    assert ars(got) == [want_ar(good,
                                dkim_res("fail", bad, "tb1", b8(msg, 0),
                                         reason="signature mismatch"),
                                dkim_res("pass", good, "ta1", b8(msg, 1)))]


def test_signature_without_b_is_neutral(lab, keys):
    # b= removed: the field lacks a required tag (RFC 6376 section
    # 6.1.1); the tags it has are reported, header.b is left out.
    domain, sel = "no-b.example", "nb1"
    lab.dns.add_zone(domain, [keys["rsa"].record(sel)])
    base = unsigned(domain)
    field = dkimpy_sign(base, keys["rsa"], domain, sel)[:-len(base)]
    field = re.sub(rb";\s*b=[^;]*", b"", field.rstrip(b"\r\n"))
    msg = field + b"\r\n" + base
    assert b"b" not in dkim.util.parse_tag_value(signature_fields(msg)[0])
    got = send(lab, "192.0.2.22", domain, msg,
               [(domain, sel, "rsa-sha256", "fail", "bad signature")])
    assert ars(got) == [want_ar(
        domain, f"dkim=neutral (bad signature) header.d={domain} "
        f"header.s={sel} header.a=rsa-sha256")]


def test_garbage_signature_is_neutral(lab):
    # Not a tag list at all: no header.* to report.
    domain = "garbage.example"
    lab.dns.add_zone(domain, [])
    msg = (b"DKIM-Signature: this is not a tag=value list\r\n"
           + unsigned(domain))
    got = send(lab, "192.0.2.23", domain, msg,
               [(None, None, None, "fail", "bad signature")])
    assert ars(got) == [want_ar(domain, "dkim=neutral (bad signature)")]


def test_unsigned_message_is_dkim_none(lab):
    domain = "unsigned.example"
    lab.dns.add_zone(domain, [])
    got = send(lab, "192.0.2.24", domain, unsigned(domain), [])
    assert ars(got) == [want_ar(domain, "dkim=none")]


def test_aligned_signature_passes_dmarc(lab, keys):
    # RFC 7489 section 3.1.1: d= equals the From domain, so DKIM alone
    # makes DMARC pass, and the p=reject policy does nothing.
    domain, sel = "dmarc-pass.example", "dp1"
    lab.dns.add_zone(domain, [keys["rsa"].record(sel),
                              ("_dmarc", "TXT", "v=DMARC1; p=reject")])
    msg = perl_sign(unsigned(domain), keys["rsa"], domain, sel)
    got = send(lab, "192.0.2.25", domain, msg,
               [(domain, sel, "rsa-sha256", "pass", None)])
    assert ars(got) == [want_ar(
        domain, dkim_res("pass", domain, sel, b8(msg)),
        dmarc=f"dmarc=pass (p=reject dis=none) header.from={domain}")]
