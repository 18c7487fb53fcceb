"""sesgatectl check-config: the configuration and what it names (DKIM key
files and their modes, the public suffix list, the feedback daemon's TLS
files, certificate directory and spool, Redis and the decision script),
every problem listed with the exit status 78, or one line saying all is
in order; and each daemon's -n, which checks its own part and Redis."""
import datetime
import hashlib
import os
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from feedback import FEEDBACKD
from lab import MILTER, POLICYD, SESGATECTL, TOP, free_port, write_conf

EX_CONFIG = 78


def check(*args):
    return subprocess.run([SESGATECTL] + list(args), capture_output=True,
                          text=True, timeout=30)


def keygen(path):
    subprocess.run([SESGATECTL, "dkim", "keygen", "x.example", "s1",
                    "--out", str(path)], check=True, capture_output=True)
    return str(path)


def good_sections(tmp_path, redis_url):
    certs = tmp_path / "sns-certs"
    certs.mkdir()
    spool = tmp_path / "spool"
    spool.mkdir()
    return {"redis": {"url": redis_url},
            "milter": {"dkim_key": "x.example s1 "
                       + keygen(tmp_path / "x.pem")},
            "feedbackd": {"cert_dir": str(certs), "fetch": "no",
                          "spool": str(spool / "feedbackd.spool")}}


def test_all_in_order(tmp_path, redis_server):
    conf = write_conf(str(tmp_path / "sesgate.conf"),
                      good_sections(tmp_path, redis_server.url))
    p = check("check-config", conf)
    assert (p.returncode, p.stderr) == (0, "")
    assert p.stdout == (f"{conf}: the configuration, the files it names, "
                        "Redis and the decision script are in order\n")
    # The script is now loaded under the SHA the daemons run it by.
    assert redis_server.cli("SCRIPT", "EXISTS", script_sha()) == \
        "1) (integer) 1"


def script_sha():
    with open(os.path.join(TOP, "lib", "sesgate.lua"), "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


def tls_pair(tmp_path, name):
    """A self-signed certificate and its key, as PEM files."""
    key = rsa.generate_private_key(65537, 2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject)
            .issuer_name(subject).public_key(key.public_key())
            .serial_number(1)
            .not_valid_before(datetime.datetime(2026, 1, 1))
            .not_valid_after(datetime.datetime(2036, 1, 1))
            .sign(key, hashes.SHA256()))
    c = tmp_path / f"{name}.crt"
    k = tmp_path / f"{name}.key"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return str(c), str(k)


def test_every_problem_listed(tmp_path):
    loose = keygen(tmp_path / "loose.pem")
    os.chmod(loose, 0o644)
    missing = str(tmp_path / "missing.pem")
    psl = str(tmp_path / "no-psl.dat")
    cert, _ = tls_pair(tmp_path, "one")
    _, other_key = tls_pair(tmp_path, "two")
    certs = str(tmp_path / "no-certs")
    spool = str(tmp_path / "no-dir" / "feedbackd.spool")
    ca = str(tmp_path / "no-ca.pem")
    port = free_port()          # nothing listens there
    conf = write_conf(str(tmp_path / "sesgate.conf"), {
        "redis": {"url": f"redis://127.0.0.1:{port}/0"},
        "milter": {"dkim_key": [f"x.example s1 {loose}",
                                f"y.example s1 {missing}"],
                   "public_suffix_list": psl},
        "feedbackd": {"tls_cert_file": cert, "tls_key_file": other_key,
                      "cert_dir": certs, "fetch": "no",
                      "fetch_ca_file": ca, "spool": spool}})
    p = check("-c", conf, "check-config")
    assert p.returncode == EX_CONFIG
    assert p.stdout == ""
    assert p.stderr.splitlines() == [
        f"sesgatectl: {conf}: 8 problems:",
        f"[milter] dkim_key x.example s1: {loose}: mode 0644; want 0600 "
        "or 0400, as a private key must not be readable or writable by "
        f"group or others (chmod 600 {loose})",
        f"[milter] dkim_key y.example s1: {missing}: no such file; create "
        "the key with sesgatectl dkim keygen or correct the path",
        f"[milter] public_suffix_list {psl}: No such file or directory",
        f"[feedbackd] tls_key_file {other_key}: not the key of the "
        f"certificate in {cert}",
        f"[feedbackd] fetch_ca_file {ca}: No such file or directory",
        f"[feedbackd] cert_dir {certs}: No such file or directory, and "
        "fetch = no: no notification could be verified",
        f"[feedbackd] spool {spool}: the directory "
        f"{os.path.dirname(spool)} does not exist",
        f"[redis] url: 127.0.0.1:{port}: Connection refused"]


def test_files_that_do_not_parse(tmp_path, redis_server):
    sections = good_sections(tmp_path, redis_server.url)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    sections["feedbackd"].update(tls_cert_file=str(junk),
                                 tls_key_file=str(junk))
    conf = write_conf(str(tmp_path / "sesgate.conf"), sections)
    p = check("check-config", conf)
    assert p.returncode == EX_CONFIG
    assert p.stderr.splitlines()[1:] == [
        f"[feedbackd] tls_cert_file {junk}: no PEM certificate",
        f"[feedbackd] tls_key_file {junk}: no PEM private key (or one "
        "with a pass phrase)"]


def test_redis_user_that_may_not_load_scripts(tmp_path, redis_server):
    redis_server.cli("ACL", "SETUSER", "reader", "on", ">reader-pw",
                     "~*", "+@read", "+auth", "+select", "+ping")
    sections = good_sections(tmp_path, redis_server.url)
    sections["redis"]["url"] = ("redis://reader:reader-pw@127.0.0.1:"
                                f"{redis_server.port}/0")
    conf = write_conf(str(tmp_path / "sesgate.conf"), sections)
    p = check("check-config", conf)
    assert p.returncode == EX_CONFIG
    lines = p.stderr.splitlines()
    assert lines[0] == f"sesgatectl: {conf}: 1 problem:"
    assert lines[1].startswith("[redis] url: SCRIPT LOAD: NOPERM ")


def test_syntax_errors_are_listed_first(tmp_path):
    conf = tmp_path / "sesgate.conf"
    conf.write_text("[milter]\nmax_message_size = huge\nnot_a_key = 1\n")
    p = check("check-config", str(conf))
    assert p.returncode == EX_CONFIG
    assert p.stdout == ""
    assert f"{conf}:2: [milter] max_message_size: bad value" in p.stderr
    assert f"{conf}:3: [milter] not_a_key: unknown key" in p.stderr


def test_missing_file(tmp_path):
    p = check("check-config", str(tmp_path / "nowhere.conf"))
    assert p.returncode == EX_CONFIG
    assert "nowhere.conf" in p.stderr and p.stdout == ""


def test_each_daemon_n_checks_its_part(tmp_path, redis_server):
    """-n of each daemon: its own part and Redis, every problem listed,
    78; the configuration printed when all is in order."""
    port = free_port()
    missing = str(tmp_path / "missing.pem")
    spool = str(tmp_path / "no-dir" / "f.spool")
    conf = write_conf(str(tmp_path / "bad.conf"), {
        "redis": {"url": f"redis://127.0.0.1:{port}/0"},
        "milter": {"dkim_key": f"x.example s1 {missing}"},
        "feedbackd": {"spool": spool}})
    redis_line = f"[redis] url: 127.0.0.1:{port}: Connection refused"
    key_line = (f"[milter] dkim_key x.example s1: {missing}: no such "
                "file; create the key with sesgatectl dkim keygen or "
                "correct the path")
    spool_line = (f"[feedbackd] spool {spool}: the directory "
                  f"{os.path.dirname(spool)} does not exist")
    for prog, name, lines in (
            (POLICYD, "sesgate-policyd", [redis_line]),
            (MILTER, "sesgate-milter", [key_line, redis_line]),
            (FEEDBACKD, "sesgate-feedbackd", [spool_line, redis_line])):
        p = subprocess.run([prog, "-n", "-c", conf], capture_output=True,
                           text=True, timeout=30)
        assert (p.returncode, p.stdout) == (EX_CONFIG, ""), name
        n = len(lines)
        assert p.stderr.splitlines() == [
            f"{name}: {conf}: {n} problem{'s' if n > 1 else ''}:"] + lines
    good = write_conf(str(tmp_path / "good.conf"),
                      good_sections(tmp_path, redis_server.url))
    for prog in (POLICYD, MILTER, FEEDBACKD):
        p = subprocess.run([prog, "-n", "-c", good], capture_output=True,
                           text=True, timeout=30)
        assert (p.returncode, p.stderr) == (0, "")
        assert f"url = {redis_server.url}\n" in p.stdout
