"""contrib/ses-simulator, the stand-in for SES's SMTP interface that the
demo and the tests use: TLS and AUTH with the derived SMTP password, SES's
refusals in SES's words, the spool, and the mailbox simulator's signed SNS
notifications, posted to a small HTTP server here."""
import base64
import datetime
import http.server
import ipaddress
import json
import os
import re
import smtplib
import ssl
import subprocess
import threading
import time

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from lab import free_port
from simulator import SECRET, SIM, USER, Simulator

# The us-east-1 SMTP password of the simulator's key (SES-REFERENCE.md
# 1.2).
PASSWORD = "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"
SES_ID = re.compile(r"0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-"
                    r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000$")
SIM_DOMAIN = "simulator.amazonses.com"
UNVERIFIED = ("Message rejected: Email address is not verified. The "
              "following identities failed the check in region {}: {}")


class Sim(Simulator):
    """The simulator with an SMTP client of its own."""

    def __init__(self, directory, *extra):
        super().__init__(directory, *extra)
        self.ca = self.ca_file

    def connect(self, login=True):
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=10)
        if login:
            s.starttls(context=ssl.create_default_context(cafile=self.ca))
            s.login(USER, PASSWORD)
        return s

    def log(self):
        return self.logtext()


@pytest.fixture
def sim_factory(tmp_path):
    started = []

    def make(*extra):
        s = Sim(tmp_path / f"sim{len(started)}", *extra)
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()


def message(frm="alice@example.com", to="bob@example.net", size=None,
            subject="Hello"):
    m = (f"From: Alice <{frm}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
         "Message-ID: <m1@example.com>\r\n"
         "Date: Wed, 02 Dec 2026 10:00:00 +0000\r\n\r\nHi.\r\n").encode()
    while size is not None and len(m) < size:
        m += b"x" * max(0, min(76, size - len(m) - 2)) + b"\r\n"
    assert size is None or len(m) == size
    return m


def send(s, frm, rcpts, msg):
    """(code, text) of the end of DATA, after MAIL and RCPTs."""
    assert s.mail(frm)[0] == 250
    for r in rcpts:
        assert s.rcpt(r)[0] == 250
    try:
        code, text = s.data(msg)
    except smtplib.SMTPDataError as e:
        code, text = e.smtp_code, e.smtp_error
    return code, text.decode()


def test_auth_plain_and_login_with_the_derived_password(sim_factory):
    sim = sim_factory()
    for mech in ("PLAIN", "LOGIN"):
        s = sim.connect(login=False)
        s.starttls(context=ssl.create_default_context(cafile=sim.ca))
        s.ehlo()
        assert s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        s.user, s.password = USER, PASSWORD
        obj = s.auth_plain if mech == "PLAIN" else s.auth_login
        assert s.auth(mech, obj) == (235, b"Authentication successful.")
        s.quit()
        s = sim.connect(login=False)
        s.starttls(context=ssl.create_default_context(cafile=sim.ca))
        s.ehlo()
        s.user, s.password = USER, PASSWORD[:-1] + "0"
        obj = s.auth_plain if mech == "PLAIN" else s.auth_login
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.auth(mech, obj)
        assert e.value.smtp_code == 535
        assert e.value.smtp_error == b"Authentication Credentials Invalid"
        s.quit()
    s = sim.connect(login=False)
    s.starttls(context=ssl.create_default_context(cafile=sim.ca))
    with pytest.raises(smtplib.SMTPAuthenticationError):
        s.login("AKIAOTHERKEY", PASSWORD)
    assert s.mail("alice@example.com") == (530, b"Authentication required")
    s.quit()
    assert "AUTH PLAIN user=AKIAOTHERKEY -> 535" in sim.log()


def test_password_depends_on_the_region(sim_factory):
    """Terraform's published vector for eu-central-1."""
    sim = sim_factory("--region", "eu-central-1")
    s = sim.connect(login=False)
    s.starttls(context=ssl.create_default_context(cafile=sim.ca))
    with pytest.raises(smtplib.SMTPAuthenticationError):
        s.login(USER, PASSWORD)
    s.quit()
    sim.stop()
    sim = sim_factory("--region", "eu-central-1", "--secret",
                      "some+secret+key")
    s = sim.connect(login=False)
    s.starttls(context=ssl.create_default_context(cafile=sim.ca))
    assert s.login(USER, "BMXhUYlu5Z3gSXVQORxlVa7XPaz91aGWdfHxvkOZdWZ2"
                   )[0] == 235
    s.quit()


def test_auth_before_starttls_refused(sim_factory):
    sim = sim_factory()
    s = sim.connect(login=False)
    s.ehlo()
    assert "starttls" in s.esmtp_features
    assert "auth" not in s.esmtp_features
    assert s.esmtp_features["size"] == "10485760"
    plain = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    code, text = s.docmd("AUTH", "PLAIN " + plain)
    assert code == 530 and b"STARTTLS command first" in text
    code, text = s.docmd("MAIL", "FROM:<alice@example.com>")
    assert code == 530
    s.quit()


def test_no_tls_offers_no_starttls(sim_factory):
    sim = sim_factory("--no-tls")
    s = sim.connect(login=False)
    s.ehlo()
    assert "starttls" not in s.esmtp_features
    assert "auth" not in s.esmtp_features
    with pytest.raises(smtplib.SMTPNotSupportedError):
        s.starttls()
    assert s.mail("alice@example.com")[0] == 530
    s.quit()


def test_message_stored_with_its_envelope(sim_factory):
    sim = sim_factory()
    s = sim.connect()
    msg = message()
    code, text = send(s, "alice@example.com",
                      ["bob@example.net", "carol@example.org"], msg)
    s.quit()
    assert code == 250 and text.startswith("Ok ")
    mid = text[3:]
    assert SES_ID.match(mid), mid
    with open(os.path.join(sim.spool, mid + ".eml"), "rb") as f:
        assert f.read() == msg
    with open(os.path.join(sim.spool, mid + ".json")) as f:
        side = json.load(f)
    assert side["mail_from"] == "alice@example.com"
    assert side["rcpts"] == ["bob@example.net", "carol@example.org"]
    assert side["auth_user"] == USER
    stamp = datetime.datetime.strptime(
        side["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - stamp).total_seconds()) < 60
    assert sorted(os.listdir(sim.spool)) == [mid + ".eml", mid + ".json"]
    assert f"rcpts=2 size={len(msg)} -> 250 Ok {mid}" in sim.log()


def test_message_size_limit(sim_factory):
    sim = sim_factory("--max-size", "4096")
    s = sim.connect()
    s.ehlo()
    assert s.esmtp_features["size"] == "4096"
    assert send(s, "a@example.com", ["b@example.net"],
                message(size=4096))[0] == 250
    assert send(s, "a@example.com", ["b@example.net"],
                message(size=4097)) == (552, "Message is too long.")
    assert s.mail("a@example.com", ["SIZE=4097"]) == (
        552, b"Message is too long.")
    s.rset()
    assert send(s, "a@example.com", ["b@example.net"],
                message(size=4000))[0] == 250
    s.quit()
    assert len(os.listdir(sim.spool)) == 4


def test_fifty_recipients_and_no_more(sim_factory):
    sim = sim_factory()
    s = sim.connect()
    rcpts = [f"r{i}@example.net" for i in range(51)]
    assert send(s, "a@example.com", rcpts[:50], message())[0] == 250
    assert send(s, "a@example.com", rcpts, message()) == (
        554, "Transaction failed: Recipient count exceeds 50.")
    s.quit()


def test_unverified_sender(sim_factory):
    sim = sim_factory("--verified", "example.com,Bob@Example.Net")
    s = sim.connect()
    ok = [("alice@example.com", "alice@example.com"),
          ("x@EXAMPLE.com", "bob@example.net"),
          ("bob@example.net", "y@example.com")]
    for env, hdr in ok:
        assert send(s, env, ["r@dest.example"],
                    message(frm=hdr))[0] == 250, (env, hdr)
    refused = [("eve@evil.example", "alice@example.com",
                "eve@evil.example"),
               ("alice@example.com", "eve@evil.example",
                "eve@evil.example"),
               ("mallory@sub.example.com", "carol@example.net",
                "mallory@sub.example.com, carol@example.net"),
               ("eve@evil.example", "eve@evil.example",
                "eve@evil.example")]
    for env, hdr, failed in refused:
        assert send(s, env, ["r@dest.example"], message(frm=hdr)) == (
            554, UNVERIFIED.format("us-east-1", failed)), (env, hdr)
    s.quit()
    assert len(os.listdir(sim.spool)) == 6


def test_maximum_send_rate(sim_factory):
    sim = sim_factory("--max-rate", "2")
    s = sim.connect()
    rate = (454, "Throttling failure: Maximum sending rate exceeded.")
    assert send(s, "a@example.com", ["b@example.net"], message())[0] == 250
    assert send(s, "a@example.com", [f"success@{SIM_DOMAIN}"],
                message())[0] == 250
    assert send(s, "a@example.com", ["c@example.net"], message()) == rate
    time.sleep(1.1)
    assert send(s, "a@example.com", ["c@example.net", "d@example.net"],
                message())[0] == 250
    assert send(s, "a@example.com", ["e@example.net"], message()) == rate
    s.quit()


def test_daily_quota(sim_factory):
    sim = sim_factory("--max-24h", "3")
    s = sim.connect()
    quota = (454, "Throttling failure: Daily message quota exceeded.")
    assert send(s, "a@example.com", ["b@example.net", "c@example.net"],
                message())[0] == 250
    assert send(s, "a@example.com", ["d@example.net", "e@example.net"],
                message()) == quota
    assert send(s, "a@example.com", ["d@example.net"], message())[0] == 250
    assert send(s, "a@example.com", ["e@example.net"], message()) == quota
    # The mailbox simulator does not count toward the quota.
    assert send(s, "a@example.com", [f"success@{SIM_DOMAIN}"],
                message())[0] == 250
    s.quit()
    assert "-> 454 Throttling failure: Daily message quota" in sim.log()


class Endpoint:
    """An HTTP server on 127.0.0.1 taking POSTs; answers with the
    statuses in fail first, then 200. tls: (cert, key) files for
    HTTPS."""

    def __init__(self, fail=(), tls=None):
        self.posts = []
        self.fail = list(fail)
        self.cond = threading.Condition()
        ep = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with ep.cond:
                    ep.posts.append((self.headers, body))
                    status = ep.fail.pop(0) if ep.fail else 200
                    ep.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/sns" % self.server.server_address[1]
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket,
                                                 server_side=True)
            self.url = "https" + self.url[4:]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def wait(self, n, timeout=10):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.posts) >= n,
                                      timeout), self.posts
            return list(self.posts)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    ep = Endpoint()
    yield ep
    ep.close()


@pytest.fixture(scope="module")
def sns_keys(tmp_path_factory):
    """A test SNS signing key and its self-signed certificate (PEM)."""
    d = tmp_path_factory.mktemp("sns")
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         "sns.amazonaws.com")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(datetime.datetime(2020, 1, 1))
            .not_valid_after(datetime.datetime(2040, 1, 1))
            .sign(key, hashes.SHA256()))
    kf, cf = str(d / "sns.key"), str(d / "sns.pem")
    with open(kf, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(cf, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return kf, cf, cert


def signed_text(env):
    """AWS's string to sign of a Notification."""
    keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn",
            "Type"]
    return "".join(f"{k}\n{env[k]}\n" for k in keys if k in env)


CERT_URL = ("https://sns.us-east-1.amazonaws.com/"
            "SimpleNotificationService-0123456789abcdef.pem")


@pytest.mark.parametrize("version", [1, 2])
def test_mailbox_simulator_notifications(sim_factory, endpoint, sns_keys,
                                         version):
    kf, cf, cert = sns_keys
    sim = sim_factory("--notify", endpoint.url, "--sns-key", kf,
                      "--sns-cert", cf, "--sns-cert-url", CERT_URL,
                      "--signature-version", str(version))
    rcpts = [f"success@{SIM_DOMAIN}", f"bounce+x1@{SIM_DOMAIN}",
             f"ooto@{SIM_DOMAIN}", f"complaint@{SIM_DOMAIN}",
             f"SuppressionList@{SIM_DOMAIN}", "real@example.net"]
    s = sim.connect()
    code, text = send(s, "sender@example.com", rcpts,
                      message(frm="sender@example.com"))
    s.quit()
    assert code == 250
    mid = text[3:]
    posts = endpoint.wait(5)
    time.sleep(0.3)
    assert len(endpoint.posts) == 5      # nothing for real@example.net
    got = {}
    for headers, body in posts:
        env = json.loads(body)
        assert headers["x-amz-sns-message-type"] == "Notification"
        assert headers["x-amz-sns-message-id"] == env["MessageId"]
        assert headers["x-amz-sns-topic-arn"] == env["TopicArn"]
        assert headers["Content-Type"].startswith("text/plain")
        assert env["Type"] == "Notification"
        assert env["TopicArn"] == ("arn:aws:sns:us-east-1:123456789012:"
                                   "ses-feedback")
        assert env["SignatureVersion"] == str(version)
        assert env["SigningCertURL"] == CERT_URL
        assert "Subject" not in env
        alg = hashes.SHA1() if version == 1 else hashes.SHA256()
        cert.public_key().verify(base64.b64decode(env["Signature"]),
                                 signed_text(env).encode(),
                                 padding.PKCS1v15(), alg)
        ses = json.loads(env["Message"])
        mail = ses["mail"]
        assert mail["messageId"] == mid
        assert mail["source"] == "sender@example.com"
        assert mail["destination"] == rcpts
        assert SES_ID.match(mail["messageId"])
        assert mail["commonHeaders"]["subject"] == "Hello"
        assert mail["commonHeaders"]["from"] == [
            "Alice <sender@example.com>"]
        assert mail["commonHeaders"]["messageId"] == "<m1@example.com>"
        kind = ses["notificationType"]
        if kind == "Delivery":
            who = ses["delivery"]["recipients"]
        elif kind == "Bounce":
            who = [r["emailAddress"]
                   for r in ses["bounce"]["bouncedRecipients"]]
        else:
            who = [r["emailAddress"]
                   for r in ses["complaint"]["complainedRecipients"]]
        assert len(who) == 1
        got[who[0]] = ses
    assert set(got) == set(rcpts[:5])
    assert got[rcpts[0]]["notificationType"] == "Delivery"
    assert got[rcpts[2]]["notificationType"] == "Delivery"
    b = got[rcpts[1]]
    assert b["notificationType"] == "Bounce"
    assert (b["bounce"]["bounceType"], b["bounce"]["bounceSubType"]) == (
        "Permanent", "General")
    b = got[rcpts[4]]
    assert (b["bounce"]["bounceType"], b["bounce"]["bounceSubType"]) == (
        "Permanent", "Suppressed")
    c = got[rcpts[3]]
    assert c["notificationType"] == "Complaint"
    assert c["complaint"]["complaintFeedbackType"] == "abuse"
    # A signature over anything else fails.
    env = json.loads(posts[0][1])
    env["Message"] = env["Message"].replace("sender@", "other@")
    with pytest.raises(InvalidSignature):
        cert.public_key().verify(base64.b64decode(env["Signature"]),
                                 signed_text(env).encode(),
                                 padding.PKCS1v15(), alg)


def test_failed_posts_retried_then_dropped(sim_factory, sns_keys):
    kf, cf, _ = sns_keys
    ep = Endpoint(fail=[500, 503])
    try:
        sim = sim_factory("--notify", ep.url, "--sns-key", kf,
                          "--sns-cert", cf, "--notify-delay", "0.1",
                          "--notify-retries", "2")
        s = sim.connect()
        assert send(s, "a@example.com", [f"bounce@{SIM_DOMAIN}"],
                    message())[0] == 250
        posts = ep.wait(3)
        ids = {json.loads(b)["MessageId"] for _, b in posts}
        assert len(ids) == 1              # the same message each time
        ep.fail = [500, 500, 500]
        assert send(s, "a@example.com", [f"success@{SIM_DOMAIN}"],
                    message())[0] == 250
        ep.wait(6)
        # 4xx ends the delivery as at SNS: no retry.
        ep.fail = [403]
        assert send(s, "a@example.com", [f"ooto@{SIM_DOMAIN}"],
                    message())[0] == 250
        ep.wait(7)
        s.quit()
        deadline = time.monotonic() + 5
        while "HTTP 403" not in sim.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert len(ep.posts) == 7
        log = sim.log()
        assert "Bounce posted: HTTP 200" in log
        assert "Delivery dropped after 3 attempts: HTTP 500" in log
        assert "Delivery posted: HTTP 403" in log
    finally:
        ep.close()


def test_sns_key_must_match_its_certificate(tmp_path, sns_keys):
    kf, _, _ = sns_keys
    other = tmp_path / "other.pem"
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(1)
            .not_valid_before(datetime.datetime(2020, 1, 1))
            .not_valid_after(datetime.datetime(2040, 1, 1))
            .sign(key, hashes.SHA256()))
    other.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    r = subprocess.run([SIM, str(free_port()), "--user", USER, "--secret",
                        SECRET, "--spool", str(tmp_path / "spool"),
                        "--notify", "http://127.0.0.1:9/", "--sns-key", kf,
                        "--sns-cert", str(other)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "does not match" in r.stderr


def test_pidfile_and_sigterm(sim_factory):
    sim = sim_factory()
    with open(sim.pidfile) as f:
        assert int(f.read()) == sim.proc.pid
    s = sim.connect()
    assert send(s, "a@example.com", ["b@example.net"], message())[0] == 250
    idle = sim.connect()             # open while it stops
    s.quit()
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 5
    idle.close()
    assert sim.proc.returncode == 0
    assert not os.path.exists(sim.pidfile)
    assert "ses-simulator: stopped" in sim.log()


def make_ca_and_server(d):
    """A test CA (file) and a certificate for 127.0.0.1 it signed, with
    its key (files)."""
    def name(n):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, n)])

    def build(subject, key, signer_key, ext):
        b = (x509.CertificateBuilder().subject_name(name(subject))
             .issuer_name(name("test CA")).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(datetime.datetime(2020, 1, 1))
             .not_valid_after(datetime.datetime(2040, 1, 1))
             .add_extension(ext, critical=False))
        return b.sign(signer_key, hashes.SHA256())
    ca_key = rsa.generate_private_key(65537, 2048)
    key = rsa.generate_private_key(65537, 2048)
    ca = build("test CA", ca_key, ca_key,
               x509.BasicConstraints(ca=True, path_length=None))
    ip = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    cert = build("127.0.0.1", key, ca_key, x509.SubjectAlternativeName([ip]))
    pem = serialization.Encoding.PEM
    files = [os.path.join(d, n) for n in ("ca.pem", "cert.pem", "key.pem")]
    for f, data in zip(files, (ca.public_bytes(pem), cert.public_bytes(pem),
                               key.private_bytes(
                                   pem, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))):
        with open(f, "wb") as fh:
            fh.write(data)
    return files


def test_given_certificate_and_https_endpoint(sim_factory, tmp_path,
                                              sns_keys):
    ca, cert, key = make_ca_and_server(str(tmp_path))
    kf, cf, _ = sns_keys
    ep = Endpoint(tls=(cert, key))
    try:
        sim = sim_factory("--tls-cert", cert, "--tls-key", key,
                          "--notify", ep.url, "--notify-ca", ca,
                          "--sns-key", kf, "--sns-cert", cf)
        assert not os.path.exists(sim.ca)
        sim.ca = ca
        s = sim.connect()
        assert send(s, "a@example.com", [f"complaint@{SIM_DOMAIN}"],
                    message())[0] == 250
        s.quit()
        (headers, body), = ep.wait(1)
        ses = json.loads(json.loads(body)["Message"])
        assert ses["notificationType"] == "Complaint"
        assert json.loads(body)["SignatureVersion"] == "1"
    finally:
        ep.close()
