"""An independent DKIM verifier for the integration tests, and test keys.

verify(message, nameserver) checks every DKIM-Signature of a message
(RFC 6376; rsa-sha256 and ed25519-sha256, RFC 8463) with Debian's dkimpy,
looking the keys up with dnspython at the given (address, port) only, so
that the loopback test DNS server is the sole source of keys. Each
signature gets a Signature with its tags and an exact result: "pass", or
"fail" with one of the REASONS below, so tests can assert why a signature
failed, not only that it did.

make_key(directory, "rsa", 2048) or make_key(directory, "ed25519")
generates a key pair with the openssl command line; the private key file is
created with mode 0600 and the DNS TXT value to publish is key.txt.

dkimpy's verify() folds every failure into False and logs the cause; the
steps are called one by one here instead (parse the signature, fetch and
parse the key, check the hashes), each failure mapped to its reason.
"""
import base64
import os
import subprocess

import dkim
import dkim.util
import dns.exception
import dns.resolver

# Why a signature failed; RFC 6376 section 6.1 and RFC 8301.
REASONS = (
    "bad signature",	# malformed or invalid tags (section 6.1.1)
    "from not signed",	# h= lacks From (section 6.1.1)
    "no key",		# no TXT record at selector._domainkey.domain
    "dns error",	# the lookup timed out or the server failed
    "bad key",		# the key record does not parse (section 3.6.1)
    "key revoked",	# empty p= (section 3.6.1)
    "key type mismatch",  # k= does not fit a=
    "hash not allowed",	# h= of the key record excludes a='s hash
    "key too small",	# RSA below the minimum (RFC 8301 section 3.2)
    "body hash mismatch",  # bh= is not the body's hash (section 6.1.3)
    "signature mismatch",  # b= does not verify (section 6.1.3)
)

KEY_TYPES = {b"rsa-sha256": b"rsa", b"rsa-sha1": b"rsa",
             b"ed25519-sha256": b"ed25519"}


class Signature:
    """One DKIM-Signature and its verdict. Tag values are str (None when
    absent): d, s, a, c as written, i, l, t, x; h is the list of signed
    header names in lower case; canon is c= in full ("relaxed/simple"
    when c=relaxed, "simple/simple" when absent); keybits the key size.
    result is "pass" or "fail"; reason is None on pass, else one of
    REASONS; detail says more in words."""

    def __init__(self, index, tags):
        self.index = index
        self.tags = tags

        def tag(name):
            v = tags.get(name.encode())
            return None if v is None else v.decode("ascii", "replace")
        self.d = tag("d")
        self.s = tag("s")
        self.a = tag("a")
        self.c = tag("c")
        self.i = tag("i")
        self.l = tag("l")  # noqa: E741
        self.t = tag("t")
        self.x = tag("x")
        h = tag("h")
        self.h = ([x.strip().lower() for x in h.split(":")]
                  if h is not None else [])
        parts = (self.c or "simple/simple").split("/")
        self.canon = "/".join(parts + ["simple"] if len(parts) == 1
                              else parts)
        self.keybits = None
        self.result = None
        self.reason = None
        self.detail = ""

    def _fail(self, reason, detail):
        assert reason in REASONS, reason
        self.result, self.reason, self.detail = "fail", reason, detail
        return self

    @property
    def ok(self):
        return self.result == "pass"

    def summary(self):
        """(d, s, a, result, reason): what tests usually compare."""
        return (self.d, self.s, self.a, self.result, self.reason)

    def __repr__(self):
        why = f" {self.reason}: {self.detail}" if self.reason else ""
        return (f"<Signature #{self.index} d={self.d} s={self.s} a={self.a}"
                f" c={self.canon} {self.result}{why}>")


class KeyLookup:
    """Fetches DKIM key records from one name server with dnspython;
    remembers the outcome of the last lookup for the caller."""

    def __init__(self, nameserver, timeout=3.0):
        host, port = nameserver
        self.resolver = dns.resolver.Resolver(configure=False)
        self.resolver.nameservers = [host]
        self.resolver.port = port
        self.resolver.lifetime = timeout
        self.resolver.timeout = timeout

    def txt(self, name):
        """("found", bytes) with the first TXT record's strings joined
        (RFC 6376 section 3.6.2.2), ("none", detail) or ("error",
        detail)."""
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        try:
            ans = self.resolver.resolve(name, "TXT")
        except dns.resolver.NXDOMAIN:
            return "none", f"{name}: NXDOMAIN"
        except dns.resolver.NoAnswer:
            return "none", f"{name}: no TXT record"
        except dns.resolver.NoNameservers as e:
            return "error", f"{name}: {e}"
        except dns.exception.Timeout:
            return "error", f"{name}: timed out"
        return "found", b"".join(ans[0].strings)


def _header_list(message):
    headers, _body = dkim.rfc822_parse(message)
    return [(n, v) for n, v in headers if n.lower() == b"dkim-signature"]


def verify(message, nameserver, minkey=1024, timeout=3.0):
    """Verify every DKIM-Signature of `message` (bytes, CRLF or LF line
    ends), topmost first; keys are asked from `nameserver`, an
    (address, port) pair or anything with a nameserver() method such as
    dnsserver.DnsServer. Returns a list of Signature, empty when the
    message has none."""
    if hasattr(nameserver, "nameserver"):
        nameserver = nameserver.nameserver()
    lookup = KeyLookup(nameserver, timeout)
    results = []
    for idx in range(len(_header_list(message))):
        results.append(_verify_one(message, idx, lookup, minkey, timeout))
    return results


def _verify_one(message, idx, lookup, minkey, timeout):
    d = dkim.DKIM(message, minkey=minkey, timeout=timeout)
    raw = _header_list(message)[idx][1]
    try:
        tags = dkim.util.parse_tag_value(raw)
    except dkim.util.InvalidTagValueList as e:
        return Signature(idx, {})._fail("bad signature", str(e))
    sig = Signature(idx, tags)
    try:
        prep = d.verify_headerprep(idx)
    except dkim.DKIMException as e:
        return sig._fail("bad signature", str(e))
    tags, include_headers, sigheaders = prep
    # RFC 6376 section 6.1.1: a signature not covering From is ignored.
    if b"from" not in include_headers:
        return sig._fail("from not signed", "h= does not list From")

    name = tags[b"s"] + b"._domainkey." + tags[b"d"] + b"."
    found, txt = lookup.txt(name)
    if found == "none":
        return sig._fail("no key", txt)
    if found == "error":
        return sig._fail("dns error", txt)
    try:
        keytags = dkim.util.parse_tag_value(txt)
    except dkim.util.InvalidTagValueList as e:
        return sig._fail("bad key", str(e))
    if keytags.get(b"p", None) == b"":
        return sig._fail("key revoked", "empty p= in the key record")
    try:
        pk, keysize, ktag, seqtlsrpt = dkim.evaluate_pk(name, txt)
    except (dkim.DKIMException, ValueError) as e:
        return sig._fail("bad key", str(e))
    sig.keybits = keysize
    want = KEY_TYPES.get(tags[b"a"])
    if ktag != want:
        return sig._fail("key type mismatch",
                         f"k={ktag.decode()} for a={sig.a}")
    if b"h" in keytags:
        allowed = [x.strip() for x in keytags[b"h"].split(b":")]
        if tags[b"a"].split(b"-")[-1] not in allowed:
            return sig._fail("hash not allowed",
                             f"key h={keytags[b'h'].decode()}")
    if ktag == b"rsa" and keysize < minkey:
        return sig._fail("key too small", f"{keysize} bits < {minkey}")

    d.pk, d.keysize, d.ktag, d.seqtlsrpt = pk, keysize, ktag, seqtlsrpt
    try:
        ok = d.verify_sig_process(tags, include_headers, sigheaders[idx],
                                  None)
    except dkim.ValidationError as e:
        if "body hash mismatch" in str(e):
            return sig._fail("body hash mismatch", str(e))
        return sig._fail("bad signature", str(e))
    except dkim.DKIMException as e:
        return sig._fail("bad key", str(e))
    if not ok:
        return sig._fail("signature mismatch", "b= does not verify")
    sig.result = "pass"
    return sig


def summaries(results):
    """[sig.summary() for sig in results]."""
    return [sig.summary() for sig in results]


class DkimKey:
    """A key pair made by make_key(): kind ("rsa" or "ed25519"), bits,
    path (PEM private key, PKCS#8, mode 0600), seed_path (ed25519 only:
    base64 of the 32-byte private seed, mode 0600), p (base64 public key
    as published) and txt (the whole DNS TXT value)."""

    def __init__(self, kind, bits, path, seed_path, p):
        self.kind = kind
        self.bits = bits
        self.path = path
        self.seed_path = seed_path
        self.p = p
        self.txt = f"v=DKIM1; k={kind}; p={p}"

    def record(self, selector):
        """The DnsServer record publishing this key under `selector`."""
        return (f"{selector}._domainkey", "TXT", self.txt)

    def pem(self):
        with open(self.path, "rb") as f:
            return f.read()

    def dkimpy_private(self):
        """The private key as dkim.sign() wants it: PEM for RSA, the
        base64 seed for Ed25519."""
        if self.kind == "rsa":
            return self.pem()
        with open(self.seed_path, "rb") as f:
            return f.read().strip()

    def __repr__(self):
        return f"<DkimKey {self.kind} {self.bits} {self.path}>"


def _openssl(args, stdin=None):
    return subprocess.run(["openssl"] + args, input=stdin, check=True,
                          capture_output=True, timeout=120).stdout


def _write_private(path, data):
    """Create `path` with mode 0600 from the start (never readable by
    others, even for a moment) and write `data` to it."""
    if os.path.exists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


# DER prefixes of the openssl encodings of Ed25519 keys (RFC 8410):
# SubjectPublicKeyInfo and PKCS#8 PrivateKeyInfo, each followed by the
# 32 raw bytes.
_ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")
_ED25519_PKCS8 = bytes.fromhex("302e020100300506032b657004220420")


def make_key(directory, kind="rsa", bits=2048, name=None):
    """Generate a DKIM key pair with openssl into `directory`: name.pem
    (and name.seed for Ed25519), name defaulting to kind-bits. RSA takes
    1024 to 4096 bits; Ed25519 ignores `bits`. Returns a DkimKey whose
    txt is the record to publish: "v=DKIM1; k=rsa; p=<base64 DER
    SubjectPublicKeyInfo>" or "v=DKIM1; k=ed25519; p=<base64 of the raw
    32-byte public key>" (RFC 8463 section 4.2)."""
    os.makedirs(str(directory), exist_ok=True)
    if kind == "rsa":
        if not 1024 <= bits <= 4096:
            raise ValueError(f"RSA key size {bits} not in 1024..4096")
        pem = _openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt",
                        f"rsa_keygen_bits:{bits}"])
    elif kind == "ed25519":
        bits = 256
        pem = _openssl(["genpkey", "-algorithm", "ED25519"])
    else:
        raise ValueError(f"unknown key kind {kind!r}")
    name = name or f"{kind}-{bits}"
    path = os.path.join(str(directory), name + ".pem")
    _write_private(path, pem)
    spki = _openssl(["pkey", "-in", path, "-pubout", "-outform", "DER"])
    seed_path = None
    if kind == "rsa":
        p = base64.b64encode(spki).decode()
    else:
        if not spki.startswith(_ED25519_SPKI) or len(spki) != 44:
            raise RuntimeError("unexpected Ed25519 public key encoding")
        p = base64.b64encode(spki[-32:]).decode()
        der = _openssl(["pkey", "-in", path, "-outform", "DER"])
        if not der.startswith(_ED25519_PKCS8) or len(der) != 48:
            raise RuntimeError("unexpected Ed25519 private key encoding")
        seed_path = os.path.join(str(directory), name + ".seed")
        _write_private(seed_path, base64.b64encode(der[-32:]) + b"\n")
    return DkimKey(kind, bits, path, seed_path, p)


def sign(message, key, domain, selector, canon=("relaxed", "simple"),
         headers=None):
    """The DKIM-Signature header field (bytes, CRLF-terminated) dkimpy
    makes for `message` with `key` (a DkimKey), for tests that need a
    message signed by someone other than the milter."""
    alg = b"rsa-sha256" if key.kind == "rsa" else b"ed25519-sha256"
    return dkim.sign(message, selector.encode(), domain.encode(),
                     key.dkimpy_private(), signature_algorithm=alg,
                     canonicalize=tuple(c.encode() for c in canon),
                     include_headers=([h.encode() for h in headers]
                                      if headers else None))
