"""What the tests of sesgate-feedbackd share: a test CA and an SNS-style
signing certificate (python3-cryptography), SNS messages signed as SNS
signs them (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA, over the
string AWS defines for each message type), SES events in both forms, and
the daemon itself on a loopback port.

    signer = SnsSigner(tmp_path / "certs")
    fd = FeedbackD(tmp_path / "fd", redis.url, cert_dir=signer.dir)
    body = signer.notification(bounce(["a@dest.example"]), version=2)
    status, text = fd.post(body)
"""
import base64
import datetime
import http.client
import http.server
import ipaddress
import json
import os
import ssl
import threading
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from lab import BUILD, TEST_GLOBAL, Daemon, free_port, write_conf

FEEDBACKD = os.path.join(BUILD, "sesgate-feedbackd")
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-feedback"
CERT_NAME = "SimpleNotificationService-0123456789abcdef.pem"
CERT_URL = f"https://sns.us-east-1.amazonaws.com/{CERT_NAME}"
SES_ID = "0100018c2f5d1a2b-3c4d5e6f-7a8b-4c9d-0e1f-2a3b4c5d6e7f-000000"


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer, pub, signing_key, ca):
    now = datetime.datetime(2026, 1, 1)
    b = (x509.CertificateBuilder().subject_name(_name(subject))
         .issuer_name(_name(issuer)).public_key(pub)
         .serial_number(x509.random_serial_number())
         .not_valid_before(now)
         .not_valid_after(now + datetime.timedelta(days=3650)))
    if ca:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=0),
                            critical=True)
    return b.sign(signing_key, hashes.SHA256())


class SnsSigner:
    """A test CA, an SNS signing certificate it issued (stored in dir
    under CERT_NAME, as sesgate-feedbackd's cert_dir wants it), and the
    key that signs messages."""

    def __init__(self, directory):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.ca_key = rsa.generate_private_key(65537, 2048)
        self.ca = _cert("sesgate test CA", "sesgate test CA",
                        self.ca_key.public_key(), self.ca_key, True)
        self.key = rsa.generate_private_key(65537, 2048)
        self.cert = _cert("sns.amazonaws.com", "sesgate test CA",
                          self.key.public_key(), self.ca_key, False)
        with open(os.path.join(self.dir, CERT_NAME), "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))

    def signature(self, text, version, key=None):
        alg = hashes.SHA1() if version == 1 else hashes.SHA256()
        sig = (key or self.key).sign(text.encode(), padding.PKCS1v15(),
                                     alg)
        return base64.b64encode(sig).decode()

    def sign(self, env, version=2, key=None):
        """Set SignatureVersion, SigningCertURL (unless given) and
        Signature of envelope env (a dict); returns it."""
        env["SignatureVersion"] = str(version)
        env.setdefault("SigningCertURL", CERT_URL)
        env["Signature"] = self.signature(string_to_sign(env), version,
                                          key)
        return env

    def notification(self, message, version=2, topic=TOPIC, subject=None,
                     **over):
        """A signed Notification carrying message (a dict, sent as JSON
        text) as JSON bytes; over replaces envelope fields after
        signing."""
        env = {"Type": "Notification", "MessageId": str(uuid.uuid4()),
               "TopicArn": topic,
               "Message": json.dumps(message),
               "Timestamp": "2026-12-02T10:00:00.000Z",
               "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/"
                                 "?Action=Unsubscribe"}
        if subject is not None:
            env["Subject"] = subject
        self.sign(env, version)
        env.update(over)
        return json.dumps(env).encode()

    def confirmation(self, kind="SubscriptionConfirmation", version=2,
                     topic=TOPIC):
        env = {"Type": kind, "MessageId": str(uuid.uuid4()),
               "Token": "2336412f37fb687f5d51e6e2425c464de",
               "TopicArn": topic,
               "Message": "You have chosen to subscribe to the topic.",
               "SubscribeURL": "https://sns.us-east-1.amazonaws.com/"
                               "?Action=ConfirmSubscription&Token=2336",
               "Timestamp": "2026-12-02T10:00:00.000Z"}
        return json.dumps(self.sign(env, version)).encode()


class _SnsHostHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host = self.server.host
        host.requests.append(self.path)
        body = host.pages.get(self.path.split("?")[0])
        if self.path.startswith("/?Action=ConfirmSubscription"):
            body = b"<ConfirmSubscriptionResponse/>"
        status = 200 if body is not None else 404
        self.send_response(status)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, fmt, *args):
        pass


class SnsHost:
    """An HTTPS server on 127.0.0.1 standing in for
    sns.us-east-1.amazonaws.com, its certificate issued by signer's test
    CA: it confirms subscriptions and serves pages ({path: bytes}).
    feedbackd() gives the [feedbackd] keys that make the daemon reach it;
    requests lists the paths asked for."""

    def __init__(self, signer, directory, pages=None):
        d = str(directory)
        os.makedirs(d, exist_ok=True)
        key = rsa.generate_private_key(65537, 2048)
        cert = (x509.CertificateBuilder()
                .subject_name(_name("sns.us-east-1.amazonaws.com"))
                .issuer_name(_name("sesgate test CA"))
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(datetime.datetime(2026, 1, 1))
                .not_valid_after(datetime.datetime(2036, 1, 1))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.DNSName("sns.us-east-1.amazonaws.com")]),
                    critical=False)
                .sign(signer.ca_key, hashes.SHA256()))
        self.ca_file = os.path.join(d, "ca.pem")
        with open(self.ca_file, "wb") as f:
            f.write(signer.ca.public_bytes(serialization.Encoding.PEM))
        certfile = os.path.join(d, "host.pem")
        with open(certfile, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
            f.write(key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption()))
        lkey = rsa.generate_private_key(65537, 2048)
        lcert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1"))
                 .issuer_name(_name("sesgate test CA"))
                 .public_key(lkey.public_key())
                 .serial_number(x509.random_serial_number())
                 .not_valid_before(datetime.datetime(2026, 1, 1))
                 .not_valid_after(datetime.datetime(2036, 1, 1))
                 .add_extension(x509.SubjectAlternativeName(
                     [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                     critical=False)
                 .sign(signer.ca_key, hashes.SHA256()))
        self.local_cert = os.path.join(d, "local.pem")
        self.local_key = os.path.join(d, "local.key")
        with open(self.local_cert, "wb") as f:
            f.write(lcert.public_bytes(serialization.Encoding.PEM))
        with open(self.local_key, "wb") as f:
            f.write(lkey.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption()))
        os.chmod(self.local_key, 0o600)
        self.pages = dict(pages or {})
        self.requests = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      _SnsHostHandler)
        self.server.host = self
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile)
        self.server.socket = ctx.wrap_socket(self.server.socket,
                                             server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def server_files(self):
        """(certificate, key) files for 127.0.0.1 issued by the test CA,
        for the daemon's own TLS."""
        return self.local_cert, self.local_key

    def feedbackd(self):
        return {"fetch": "yes", "fetch_ca_file": self.ca_file,
                "fetch_connect_to":
                f"sns.us-east-1.amazonaws.com:443:127.0.0.1:{self.port}"}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def string_to_sign(env):
    """The text SNS signs: "Key\\nvalue\\n" for each key of the type, in
    this order (Subject only when present)."""
    if env["Type"] == "Notification":
        keys = ["Message", "MessageId", "Subject", "Timestamp",
                "TopicArn", "Type"]
    else:
        keys = ["Message", "MessageId", "SubscribeURL", "Timestamp",
                "Token", "TopicArn", "Type"]
    return "".join(f"{k}\n{env[k]}\n" for k in keys if k in env)


def mail(source="app@sender.example", tags=None):
    m = {"timestamp": "2026-12-02T09:59:58.000Z", "messageId": SES_ID,
         "source": source, "sourceArn": "arn:aws:ses:us-east-1:"
         "123456789012:identity/sender.example",
         "sendingAccountId": "123456789012",
         "destination": ["a@dest.example"]}
    if tags is not None:
        m["tags"] = tags
    return m


def bounce(rcpts, btype="Permanent", subtype="General", form="notification"):
    """A Bounce event; rcpts are addresses, or (address, diagnostic)."""
    recipients = []
    for r in rcpts:
        addr, diag = r if isinstance(r, tuple) else (r, None)
        e = {"emailAddress": addr}
        if diag is not None:
            e.update(action="failed", status="5.1.1", diagnosticCode=diag)
        recipients.append(e)
    ev = {"mail": mail(),
          "bounce": {"bounceType": btype, "bounceSubType": subtype,
                     "bouncedRecipients": recipients,
                     "timestamp": "2026-12-02T10:00:00.000Z",
                     "feedbackId": "0100018c-feedback-bounce-000000"}}
    ev["notificationType" if form == "notification" else "eventType"] = \
        "Bounce"
    return ev


def complaint(rcpts, feedback_type="abuse", form="notification"):
    c = {"complainedRecipients": [{"emailAddress": a} for a in rcpts],
         "timestamp": "2026-12-02T10:00:00.000Z",
         "feedbackId": "0100018c-feedback-complaint-000"}
    if feedback_type is not None:
        c["complaintFeedbackType"] = feedback_type
    ev = {"mail": mail(), "complaint": c}
    ev["notificationType" if form == "notification" else "eventType"] = \
        "Complaint"
    return ev


def event(kind, rcpts=(), **extra):
    """An event of configuration-set event publishing (eventType)."""
    ev = {"eventType": kind, "mail": mail(tags={
        "ses:configuration-set": ["transactional"], "user": ["alice"]})}
    if kind == "Delivery":
        ev["delivery"] = {"timestamp": "2026-12-02T10:00:01.000Z",
                          "recipients": list(rcpts),
                          "smtpResponse": "250 ok"}
    elif kind == "DeliveryDelay":
        ev["deliveryDelay"] = {"delayType": "MailboxFull",
                               "delayedRecipients": [
                                   {"emailAddress": a} for a in rcpts],
                               "timestamp": "2026-12-02T10:00:01.000Z"}
    elif kind == "Send":
        ev["send"] = {}
    elif kind == "Reject":
        ev["reject"] = {"reason": "Bad content"}
    elif kind == "Open":
        ev["open"] = {"ipAddress": "192.0.2.1",
                      "timestamp": "2026-12-02T10:00:01.000Z",
                      "userAgent": "test"}
    elif kind == "Click":
        ev["click"] = {"ipAddress": "192.0.2.1", "link":
                       "https://example.com/",
                       "timestamp": "2026-12-02T10:00:01.000Z",
                       "userAgent": "test"}
    elif kind == "Rendering Failure":
        ev["failure"] = {"errorMessage": "Attribute 'x' is not present",
                         "templateName": "t1"}
    ev.update(extra)
    return ev


class FeedbackD(Daemon):
    """sesgate-feedbackd in the foreground on a loopback port; feedbackd
    is its [feedbackd] section over the defaults."""

    prog = FEEDBACKD

    def __init__(self, tmpdir, redis_url, cert_dir, feedbackd=None,
                 glob=None, port=None):
        self.dir = str(tmpdir)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.metrics_port = free_port()
        self.log = os.path.join(self.dir, f"feedbackd-{self.port}.log")
        self.conf = os.path.join(self.dir, f"sesgate-{self.port}.conf")
        self.sections = {
            "global": dict(TEST_GLOBAL, **(glob or {})),
            "redis": {"url": redis_url},
            "feedbackd": dict({"listen": f"inet:127.0.0.1:{self.port}",
                               "cert_dir": str(cert_dir),
                               "spool": os.path.join(self.dir, "spool"),
                               # No network: SnsHost serves what tests
                               # fetch.
                               "fetch": "no",
                               "metrics_listen":
                               f"inet:127.0.0.1:{self.metrics_port}"},
                              **(feedbackd or {}))}
        write_conf(self.conf, self.sections)
        self.proc = None
        self.start()

    def metrics(self, path="/metrics"):
        """GET on the metrics listener: (status, body text)."""
        return self.post(None, path=path, method="GET",
                         port=self.metrics_port)

    def post(self, body, path="/sns", method="POST", headers=None,
             port=None, tls_ca=None):
        """One request (over TLS trusting tls_ca when given); (status,
        body text)."""
        if tls_ca is not None:
            ctx = ssl.create_default_context(cafile=tls_ca)
            c = http.client.HTTPSConnection("127.0.0.1", port or self.port,
                                            timeout=30, context=ctx)
        else:
            c = http.client.HTTPConnection("127.0.0.1", port or self.port,
                                           timeout=30)
        try:
            h = {"Content-Type": "text/plain; charset=UTF-8",
                 "x-amz-sns-message-type": "Notification"}
            h.update(headers or {})
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, r.read().decode().strip()
        finally:
            c.close()
