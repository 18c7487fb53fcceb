"""sesgatectl dkim keygen and dns-records: the key files (mode 0600,
never replaced), the exact records printed, that the TXT record holds the
public half of the file (as openssl derives it) and verifies a signature
made with the file by an independent DKIM implementation (dkimpy), that
the output is a zone file a DNS library reads, and the exact refusals of
bad arguments and of a key file others may read.
"""
import base64
import json
import os
import stat
import subprocess

import dkim
import dns.rdatatype
import dns.zone
import pytest

from conftest import SESGATECTL

EX_OK, EX_USAGE, EX_DATAERR, EX_CANTCREAT, EX_CONFIG = 0, 64, 65, 73, 78

KEYGEN_USAGE = ("usage: sesgatectl [-c FILE] [--json] dkim keygen DOMAIN "
                "SELECTOR [--ed25519] [--bits N] [--out FILE]\n")
DNS_USAGE = ("usage: sesgatectl [-c FILE] [--json] dns-records DOMAIN "
             "[--region R] [--mail-from SUBDOMAIN] [--token TOKEN]\n")

MESSAGE = (b"From: Alice <alice@example.com>\r\n"
           b"To: bob@example.net\r\n"
           b"Subject: key check\r\n"
           b"\r\n"
           b"Hello Bob.\r\n")


def run(*args, conf=None, cwd=None):
    argv = [SESGATECTL]
    if conf is not None:
        argv += ["-c", str(conf)]
    return subprocess.run(argv + [str(a) for a in args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def openssl(*args):
    return subprocess.run(["openssl"] + [str(a) for a in args], check=True,
                          capture_output=True).stdout


def spki(path):
    """The DER SubjectPublicKeyInfo of the key in path, by openssl."""
    return openssl("pkey", "-in", path, "-pubout", "-outform", "DER")


def p_value(path, alg):
    """What p= must be: the SubjectPublicKeyInfo for RSA, the raw key
    (the last 32 bytes of its SubjectPublicKeyInfo) for Ed25519."""
    der = spki(path)
    if alg == "ed25519":
        assert len(der) == 44
        der = der[12:]
    return base64.b64encode(der).decode()


def rsa_bits(path):
    text = openssl("pkey", "-in", path, "-noout", "-text").decode()
    first = text.splitlines()[0]
    return int(first.split("(")[1].split()[0])


def zone_txt(name, value):
    """A TXT record as sesgatectl writes it: one string when it fits,
    else the tags before p= and p= in strings of 255 bytes, one a
    line."""
    head = f"{name}. 3600 IN TXT "
    if len(value) <= 255:
        return f'{head}"{value}"\n'
    i = value.index("p=")
    parts = [value[:i]]
    rest = value[i:]
    while rest:
        parts.append(rest[:255])
        rest = rest[255:]
    return head + "( " + "\n\t".join(f'"{p}"' for p in parts) + " )\n"


def parse_zone(text, origin="example.com."):
    """{(name, type): [value]} of a zone file text, TXT strings joined,
    checking that no string is longer than 255 bytes."""
    z = dns.zone.from_text(text, origin=origin, relativize=False,
                           check_origin=False)
    out = {}
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            assert rds.ttl == 3600
            for rd in rds:
                if rds.rdtype == dns.rdatatype.TXT:
                    assert all(len(s) <= 255 for s in rd.strings)
                    value = b"".join(rd.strings).decode()
                else:
                    value = rd.to_text()
                key = (name.to_text(), dns.rdatatype.to_text(rds.rdtype))
                out.setdefault(key, []).append(value)
    return out


def dkim_roundtrip(path, alg, selector, domain, txt):
    """Sign MESSAGE with the key file by dkimpy and verify it against the
    printed TXT value; also that a changed body fails."""
    if alg == "rsa":
        # dkimpy reads PKCS#1 only.
        priv = openssl("pkey", "-in", path, "-traditional")
        sigalg = b"rsa-sha256"
    else:
        # dkimpy wants the 32-byte seed: the end of the PKCS#8 DER.
        priv = base64.b64encode(openssl("pkey", "-in", path, "-outform",
                                        "DER")[-32:])
        sigalg = b"ed25519-sha256"
    sig = dkim.sign(MESSAGE, selector.encode(), domain.encode(), priv,
                    include_headers=[b"from", b"to", b"subject"],
                    signature_algorithm=sigalg)
    name = f"{selector}._domainkey.{domain}.".encode()

    def dnsfunc(qname, timeout=5):
        assert qname == name, qname
        return txt.encode()
    assert dkim.verify(sig + MESSAGE, dnsfunc=dnsfunc)
    assert not dkim.verify(sig + MESSAGE.replace(b"Hello", b"Hullo"),
                           dnsfunc=dnsfunc)


def keygen_output(domain, selector, alg, bits, path, txt):
    name = f"{selector}._domainkey.{domain}"
    return (f"; DKIM key for {domain}, selector {selector}: {alg}, {bits} "
            f"bits,\n"
            f"; written to {path}.\n"
            f"; 1. Publish this record in the DNS zone of {domain}:\n"
            + zone_txt(name, txt) +
            f"; 2. Once it resolves (dig +short TXT {name}),\n"
            f";    add this line to the [milter] section of sesgate.conf\n"
            f";    and reload sesgate-milter:\n"
            f"dkim_key = {domain} {selector} {path}\n")


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


# -- dkim keygen ----------------------------------------------------------

@pytest.mark.parametrize("extra,alg,bits", [
    ([], "rsa", 2048),
    (["--bits", "1024"], "rsa", 1024),
    (["--bits=4096"], "rsa", 4096),
    (["--ed25519"], "ed25519", 256),
])
def test_keygen_writes_key_and_prints_record(tmp_path, extra, alg, bits):
    path = tmp_path / "k.pem"
    r = run("dkim", "keygen", "Example.COM.", "mail2026", "--out", path,
            *extra)
    assert r.returncode == EX_OK, r.stderr
    assert r.stderr == ""
    assert mode(path) == 0o600
    assert stat.S_ISREG(os.lstat(path).st_mode)
    with open(path) as f:
        assert f.readline() == "-----BEGIN PRIVATE KEY-----\n"
    if alg == "rsa":
        assert rsa_bits(path) == bits
    txt = f"v=DKIM1; k={alg}; p={p_value(path, alg)}"
    assert r.stdout == keygen_output("example.com", "mail2026", alg, bits,
                                     path, txt)
    # All but the sesgate.conf line is a zone file.
    zone = "".join(line for line in r.stdout.splitlines(True)
                   if not line.startswith("dkim_key = "))
    assert parse_zone(zone) == {
        ("mail2026._domainkey.example.com.", "TXT"): [txt]}
    dkim_roundtrip(path, alg, "mail2026", "example.com", txt)


def test_keygen_json(tmp_path):
    path = tmp_path / "k.pem"
    r = run("--json", "dkim", "keygen", "example.com", "ed1", "--ed25519",
            "--out", path)
    assert r.returncode == EX_OK, r.stderr
    assert [json.loads(line) for line in r.stdout.splitlines()] == [{
        "domain": "example.com", "selector": "ed1", "file": str(path),
        "algorithm": "ed25519", "bits": 256,
        "name": "ed1._domainkey.example.com", "ttl": 3600, "type": "TXT",
        "value": f"v=DKIM1; k=ed25519; p={p_value(path, 'ed25519')}"}]


def test_keygen_relative_out_prints_absolute_path(tmp_path):
    r = run("dkim", "keygen", "example.com", "s1", "--ed25519", "--out",
            "rel.pem", cwd=tmp_path)
    assert r.returncode == EX_OK, r.stderr
    assert mode(tmp_path / "rel.pem") == 0o600
    assert r.stdout.endswith(
        f"dkim_key = example.com s1 {tmp_path / 'rel.pem'}\n")


def test_keygen_never_overwrites(tmp_path):
    path = tmp_path / "k.pem"
    assert run("dkim", "keygen", "example.com", "s1", "--ed25519", "--out",
               path).returncode == EX_OK
    before = path.read_bytes()
    for extra in (["--ed25519"], ["--bits", "1024"]):
        r = run("dkim", "keygen", "example.com", "s2", "--out", path, *extra)
        assert r.returncode == EX_CANTCREAT
        assert r.stdout == ""
        assert r.stderr == (f"sesgatectl: {path}: already exists; a key file "
                            f"is never replaced (choose another file, or a "
                            f"new selector to change keys)\n")
    assert path.read_bytes() == before
    assert mode(path) == 0o600

    # Nor through a dangling symbolic link.
    link = tmp_path / "link.pem"
    os.symlink(tmp_path / "target.pem", link)
    r = run("dkim", "keygen", "example.com", "s3", "--ed25519", "--out",
            link)
    assert r.returncode == EX_CANTCREAT
    assert "already exists" in r.stderr
    assert not os.path.lexists(tmp_path / "target.pem")


def test_keygen_missing_directory(tmp_path):
    path = tmp_path / "no" / "k.pem"
    r = run("dkim", "keygen", "example.com", "s1", "--ed25519", "--out",
            path)
    assert r.returncode == EX_CANTCREAT
    assert r.stderr == (f"sesgatectl: {path}: cannot create: No such file "
                        f"or directory\n")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("args,status,stderr", [
    (["exa_mple.com", "s1"], EX_DATAERR,
     "sesgatectl: \"exa_mple.com\" is not a domain name (letters, digits "
     "and '-' in labels joined by dots)\n"),
    (["-example.com", "s1"], EX_DATAERR,
     "sesgatectl: \"-example.com\" is not a domain name (letters, digits "
     "and '-' in labels joined by dots)\n"),
    (["example..com", "s1"], EX_DATAERR,
     "sesgatectl: \"example..com\" is not a domain name (letters, digits "
     "and '-' in labels joined by dots)\n"),
    (["example.com", "s_1"], EX_DATAERR,
     "sesgatectl: \"s_1\" is not a DKIM selector (letters, digits and '-' "
     "in labels joined by dots, RFC 6376 section 3.1)\n"),
    (["example.com", "s1."], EX_DATAERR,
     "sesgatectl: \"s1.\" is not a DKIM selector (letters, digits and '-' "
     "in labels joined by dots, RFC 6376 section 3.1)\n"),
    (["example.com", "s1", "--bits", "512"], EX_DATAERR,
     "sesgatectl: --bits \"512\": want 1024 to 4096 (2048 when not "
     "given)\n"),
    (["example.com", "s1", "--bits", "8192"], EX_DATAERR,
     "sesgatectl: --bits \"8192\": want 1024 to 4096 (2048 when not "
     "given)\n"),
    (["example.com", "s1", "--bits", "2k"], EX_DATAERR,
     "sesgatectl: --bits \"2k\": want 1024 to 4096 (2048 when not "
     "given)\n"),
    (["example.com", "s1", "--ed25519", "--bits", "2048"], EX_USAGE,
     "sesgatectl: --bits is for RSA keys; an Ed25519 key has one size\n"
     + KEYGEN_USAGE),
    (["example.com"], EX_USAGE,
     "sesgatectl: name a domain and a selector\n" + KEYGEN_USAGE),
    (["example.com", "s1", "extra"], EX_USAGE,
     "sesgatectl: unexpected argument \"extra\"\n" + KEYGEN_USAGE),
    (["example.com", "s1", "--rsa"], EX_USAGE,
     "sesgatectl: unknown option \"--rsa\"\n" + KEYGEN_USAGE),
    (["example.com", "s1", "--out", "my key.pem"], EX_DATAERR,
     "sesgatectl: --out \"my key.pem\": no white space or control "
     "characters in the key's path: sesgate.conf reads it as one word\n"),
])
def test_keygen_bad_arguments(tmp_path, args, status, stderr):
    if "--out" not in args:
        args = args + ["--out", str(tmp_path / "k.pem")]
    r = run("dkim", "keygen", *args, cwd=tmp_path)
    assert (r.returncode, r.stderr) == (status, stderr)
    assert r.stdout == ""
    assert os.listdir(tmp_path) == []


def test_keygen_name_too_long(tmp_path):
    domain = ".".join(["a" * 60] * 4)           # 243 bytes
    r = run("dkim", "keygen", domain, "selector", "--ed25519", "--out",
            tmp_path / "k.pem")
    assert r.returncode == EX_DATAERR
    assert r.stderr == (f"sesgatectl: selector._domainkey.{domain}: longer "
                        f"than the 253 bytes of a DNS name; choose a "
                        f"shorter selector\n")


# -- dns-records ----------------------------------------------------------

def write_conf(path, region, keys):
    lines = ["[global]", f"region = {region}", "", "[milter]"]
    lines += [f"dkim_key = {k}" for k in keys]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def two_keys(tmp_path):
    """A configuration in eu-west-1 with an RSA and an Ed25519 key for
    example.com and a key of another domain."""
    keys = {}
    for sel, extra in [("mail2026", []), ("ed2026", ["--ed25519"]),
                       ("other", ["--ed25519"])]:
        path = tmp_path / f"{sel}.pem"
        domain = "other.org" if sel == "other" else "example.com"
        r = run("dkim", "keygen", domain, sel, "--out", path, *extra)
        assert r.returncode == EX_OK, r.stderr
        keys[sel] = path
    conf = write_conf(tmp_path / "sesgate.conf", "eu-west-1", [
        f"Example.COM mail2026 {keys['mail2026']}",
        f"other.org other {keys['other']}",
        f"example.com ed2026 {keys['ed2026']}"])
    return conf, keys


def dkim_txt(path, alg):
    return f"v=DKIM1; k={alg}; p={p_value(path, alg)}"


def expected_records(keys, token, region, mail_from):
    """The whole output of dns-records example.com for two_keys."""
    rsa, ed = keys["mail2026"], keys["ed2026"]
    out = ("; DNS records for example.com to send mail through Amazon SES "
           f"in {region},\n"
           "; in zone-file form, for the zone of example.com.\n"
           "\n")
    if token is not None:
        out += ("; SES domain verification, with the token SES gave for "
                "example.com.\n"
                f'_amazonses.example.com. 3600 IN TXT "{token}"\n')
    else:
        out += ("; SES domain verification. Replace the placeholder with the "
                "VerificationToken\n"
                "; of: aws ses verify-domain-identity --domain example.com "
                f"--region {region}\n"
                "; (or run this command again with --token).\n"
                "_amazonses.example.com. 3600 IN TXT "
                "\"VERIFICATION-TOKEN-FROM-SES\"\n")
    out += ("\n"
            "; DKIM key of selector mail2026: rsa, 2048 bits, in\n"
            f"; {rsa}.\n"
            + zone_txt("mail2026._domainkey.example.com",
                       dkim_txt(rsa, "rsa")) +
            "\n"
            "; DKIM key of selector ed2026: ed25519, 256 bits, in\n"
            f"; {ed}.\n"
            + zone_txt("ed2026._domainkey.example.com",
                       dkim_txt(ed, "ed25519")) +
            "\n"
            "; SPF (RFC 7208): SES sends for example.com. A name has one "
            "SPF record: if\n"
            "; it has one already, add include:amazonses.com to it "
            "instead.\n"
            'example.com. 3600 IN TXT "v=spf1 include:amazonses.com -all"\n'
            "\n"
            "; DMARC (RFC 7489), a starter policy: p=none only asks "
            "receivers for\n"
            "; reports, sent to postmaster@example.com. Once they show that "
            "all your\n"
            "; mail passes, move to p=quarantine, then p=reject.\n"
            '_dmarc.example.com. 3600 IN TXT "v=DMARC1; p=none; '
            'rua=mailto:postmaster@example.com"\n'
            "\n")
    if mail_from is not None:
        out += (f"; Custom MAIL FROM domain {mail_from}: SES takes bounces "
                "and\n"
                "; complaints through this MX, which must be the name's "
                "only one, and\n"
                "; its SPF record lets DMARC align on SPF too.\n"
                f"{mail_from}. 3600 IN MX 10 feedback-smtp.{region}."
                "amazonses.com.\n"
                f'{mail_from}. 3600 IN TXT "v=spf1 include:amazonses.com '
                '-all"\n')
    else:
        out += ("; Custom MAIL FROM: none; --mail-from SUBDOMAIN prints its "
                "MX and SPF\n"
                "; records.\n")
    return out


TOKEN = "pmBGN/7MjnfhTKUZ06Enqq1PeGUaOkw8lGhcfwefcHU="


def test_dns_records_two_keys_and_mail_from(two_keys):
    conf, keys = two_keys
    r = run("dns-records", "example.com", "--mail-from", "bounce",
            "--token", TOKEN, conf=conf)
    assert r.returncode == EX_OK, r.stderr
    assert r.stderr == ""
    assert r.stdout == expected_records(keys, TOKEN, "eu-west-1",
                                        "bounce.example.com")
    # What a DNS library reads from it.
    assert parse_zone(r.stdout) == {
        ("_amazonses.example.com.", "TXT"): [TOKEN],
        ("mail2026._domainkey.example.com.", "TXT"):
            [dkim_txt(keys["mail2026"], "rsa")],
        ("ed2026._domainkey.example.com.", "TXT"):
            [dkim_txt(keys["ed2026"], "ed25519")],
        ("example.com.", "TXT"): ["v=spf1 include:amazonses.com -all"],
        ("_dmarc.example.com.", "TXT"):
            ["v=DMARC1; p=none; rua=mailto:postmaster@example.com"],
        ("bounce.example.com.", "MX"):
            ["10 feedback-smtp.eu-west-1.amazonses.com."],
        ("bounce.example.com.", "TXT"):
            ["v=spf1 include:amazonses.com -all"],
    }
    # The published keys verify signatures made with the files.
    dkim_roundtrip(keys["mail2026"], "rsa", "mail2026", "example.com",
                   dkim_txt(keys["mail2026"], "rsa"))
    dkim_roundtrip(keys["ed2026"], "ed25519", "ed2026", "example.com",
                   dkim_txt(keys["ed2026"], "ed25519"))


def test_dns_records_placeholder_and_region(two_keys):
    conf, keys = two_keys
    r = run("dns-records", "example.com.", "--region", "ap-southeast-2",
            "--mail-from", "Mail.Example.com", conf=conf)
    assert r.returncode == EX_OK, r.stderr
    assert r.stdout == expected_records(keys, None, "ap-southeast-2",
                                        "mail.example.com")
    r = run("dns-records", "EXAMPLE.com", conf=conf)
    assert r.returncode == EX_OK, r.stderr
    assert r.stdout == expected_records(keys, None, "eu-west-1", None)


def test_dns_records_json(two_keys):
    conf, keys = two_keys
    r = run("--json", "dns-records", "example.com", "--mail-from", "bounce",
            conf=conf)
    assert r.returncode == EX_OK, r.stderr

    def rec(purpose, name, rtype, value):
        return {"purpose": purpose, "name": name, "ttl": 3600,
                "type": rtype, "value": value}
    assert [json.loads(line) for line in r.stdout.splitlines()] == [
        rec("verification", "_amazonses.example.com", "TXT",
            "VERIFICATION-TOKEN-FROM-SES"),
        rec("dkim", "mail2026._domainkey.example.com", "TXT",
            dkim_txt(keys["mail2026"], "rsa")),
        rec("dkim", "ed2026._domainkey.example.com", "TXT",
            dkim_txt(keys["ed2026"], "ed25519")),
        rec("spf", "example.com", "TXT", "v=spf1 include:amazonses.com -all"),
        rec("dmarc", "_dmarc.example.com", "TXT",
            "v=DMARC1; p=none; rua=mailto:postmaster@example.com"),
        rec("mail-from-mx", "bounce.example.com", "MX",
            "10 feedback-smtp.eu-west-1.amazonses.com."),
        rec("mail-from-spf", "bounce.example.com", "TXT",
            "v=spf1 include:amazonses.com -all"),
    ]


def test_dns_records_without_keys(tmp_path):
    conf = write_conf(tmp_path / "sesgate.conf", "us-east-1", [])
    r = run("dns-records", "example.org", conf=conf)
    assert r.returncode == EX_OK, r.stderr
    assert ("\n; DKIM: sesgate.conf has no dkim_key for example.org; create "
            "one with\n; sesgatectl dkim keygen example.org SELECTOR.\n\n"
            "; SPF") in r.stdout
    assert "_domainkey" not in r.stdout


@pytest.mark.parametrize("broken", ["mode 0644", "missing", "garbage"])
def test_dns_records_broken_key_names_file(two_keys, broken):
    conf, keys = two_keys
    path = keys["ed2026"]
    if broken == "mode 0644":
        os.chmod(path, 0o644)
        why = (f"{path}: mode 0644; want 0600 or 0400, as a private key "
               f"must not be readable or writable by group or others "
               f"(chmod 600 {path})")
    elif broken == "missing":
        os.unlink(path)
        why = (f"{path}: no such file; create the key with sesgatectl dkim "
               f"keygen or correct the path")
    else:
        path.write_text("garbage\n")
        why = (f"{path}: not a PEM private key; want a file that starts "
               f"with -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE "
               f"KEY-----, as sesgatectl dkim keygen or openssl genpkey "
               f"writes it")
    r = run("dns-records", "example.com", conf=conf)
    assert r.returncode == EX_CONFIG
    assert r.stdout == ""
    assert r.stderr == (f"sesgatectl: {why} (dkim_key example.com ed2026 in "
                        f"{conf})\n")
    # Another domain's records do not read that key.
    assert run("dns-records", "other.org", conf=conf).returncode == EX_OK


@pytest.mark.parametrize("args,status,stderr", [
    (["exa mple.com"], EX_DATAERR,
     "sesgatectl: \"exa mple.com\" is not a domain name (letters, digits "
     "and '-' in labels joined by dots)\n"),
    (["example.com", "--region", "moon"], EX_DATAERR,
     "sesgatectl: --region \"moon\": not an AWS region name such as "
     "us-east-1\n"),
    (["example.com", "--mail-from", "bounce.other.org"], EX_DATAERR,
     "sesgatectl: --mail-from \"bounce.other.org\": want a subdomain of "
     "example.com, such as bounce or bounce.example.com\n"),
    (["example.com", "--mail-from", "example.com"], EX_DATAERR,
     "sesgatectl: --mail-from \"example.com\": want a subdomain of "
     "example.com, such as bounce or bounce.example.com\n"),
    (["example.com", "--token", 'a"b'], EX_DATAERR,
     "sesgatectl: --token \"a\"b\": want the VerificationToken SES gave "
     "for example.com (base64, such as "
     "pmBGN/7MjnfhTKUZ06Enqq1PeGUaOkw8lGhcfwefcHU=)\n"),
    ([], EX_USAGE, "sesgatectl: name a domain\n" + DNS_USAGE),
    (["example.com", "example.org"], EX_USAGE,
     "sesgatectl: unexpected argument \"example.org\"\n" + DNS_USAGE),
    (["example.com", "--mail-from"], EX_USAGE,
     "sesgatectl: option \"--mail-from\" wants a value\n" + DNS_USAGE),
])
def test_dns_records_bad_arguments(two_keys, args, status, stderr):
    conf, _ = two_keys
    r = run("dns-records", *args, conf=conf)
    assert (r.returncode, r.stderr) == (status, stderr)
    assert r.stdout == ""


def test_commands_in_usage():
    r = run("--help")
    assert ("  dkim keygen DOMAIN SELECTOR [--ed25519] [--bits N] "
            "[--out FILE]\n"
            "      create a DKIM key and print the DNS record to publish\n"
            "  dns-records DOMAIN [--region R] [--mail-from SUBDOMAIN] "
            "[--token TOKEN]\n"
            "      the DNS records the domain needs for SES\n") in r.stdout
