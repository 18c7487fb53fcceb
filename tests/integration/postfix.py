"""A private Postfix instance for the integration tests, and the local SMTP
sink it relays every message to.

The instance lives in a temporary directory of its own (configuration,
queue, data, log file), listens on 127.0.0.1 only and is driven with
`postfix -c DIR start|stop`; /etc/postfix and the system mail system are
never read for settings nor touched. Its smtpd asks the policy service on
127.0.0.1:policy_port for every recipient, and relays what it accepts to
the sink. With Cyrus SASL's saslpasswd2 installed, smtpd also offers AUTH
PLAIN/LOGIN against a private sasldb.

The sink is a small threaded SMTP server on 127.0.0.1 that keeps every
message it receives, so that tests can count deliveries.
"""
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import socketserver
import subprocess
import tempfile
import threading
import time
import uuid

import lab

SASL_REALM = "sesgate.test"
REGION = "eu-west-1"
HOSTNAME = "mta.sesgate.test"
TEST_HEADER = "X-Sesgate-Test"


class Delivery:
    """One SMTP transaction as the sink received it."""

    def __init__(self, mail_from, rcpts, data):
        self.mail_from = mail_from
        self.rcpts = rcpts
        self.data = data

    def header(self, name):
        """Value of the first header `name` of the message, or None."""
        head = self.data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        for line in head.split("\r\n"):
            k, sep, v = line.partition(":")
            if sep and k.strip().lower() == name.lower():
                return v.strip()
        return None

    def headers(self, name):
        """Every field `name` of the message, in order, each unfolded
        (CRLF and the white space after it made one space) and
        stripped."""
        head = self.data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        head = re.sub(r"\r\n[ \t]+", " ", head)
        out = []
        for line in head.split("\r\n"):
            k, sep, v = line.partition(":")
            if sep and k.strip().lower() == name.lower():
                out.append(v.strip())
        return out


class _SinkHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for the Postfix smtp client: EHLO/HELO, MAIL,
    RCPT, DATA, RSET, NOOP, QUIT."""

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        sink = self.server.sink
        mail_from, rcpts = None, []
        self.reply("220 sink.sesgate.test ESMTP")
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb = cmd[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink.sesgate.test")
            elif verb == "MAIL":
                mail_from, rcpts = _path(cmd), []
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                if mail_from is None:
                    self.reply("503 5.5.1 MAIL first")
                    continue
                rcpts.append(_path(cmd))
                self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                if not rcpts:
                    self.reply("503 5.5.1 RCPT first")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = self.read_data()
                if data is None:
                    return
                sink.store(Delivery(mail_from, rcpts, data))
                mail_from, rcpts = None, []
                self.reply("250 2.0.0 Ok: stored")
            elif verb == "RSET":
                mail_from, rcpts = None, []
                self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Command not recognised")

    def read_data(self):
        lines = []
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return None
            if line in (b".\r\n", b".\n"):
                return b"".join(lines)
            if line.startswith(b"."):
                line = line[1:]
            lines.append(line)


def _path(cmd):
    """The address between < and > of a MAIL or RCPT command."""
    start, end = cmd.find("<"), cmd.find(">")
    if start < 0 or end < start:
        return cmd.split(":", 1)[-1].strip()
    return cmd[start + 1:end]


class _SinkServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class SmtpSink:
    """An SMTP server on 127.0.0.1 (port chosen by the kernel) that
    stores every message; close() stops it."""

    def __init__(self):
        self.deliveries = []
        self.cond = threading.Condition()
        self.server = _SinkServer(("127.0.0.1", 0), _SinkHandler)
        self.server.sink = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def store(self, delivery):
        with self.cond:
            self.deliveries.append(delivery)
            self.cond.notify_all()

    def received(self, token=None):
        """Deliveries so far; only those whose test header is `token`
        when one is given."""
        with self.cond:
            return [d for d in self.deliveries
                    if token is None or d.header(TEST_HEADER) == token]

    def recipients(self, token=None):
        """Every recipient delivered so far, in order of arrival."""
        return [r for d in self.received(token) for r in d.rcpts]

    def wait_recipients(self, count, token=None, timeout=30.0):
        """Wait until at least `count` recipients of `token` arrived (or
        the timeout passed); returns the recipients received."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [r for d in self.deliveries
                       if token is None or d.header(TEST_HEADER) == token
                       for r in d.rcpts]
                left = deadline - time.monotonic()
                if len(got) >= count or left <= 0:
                    return got
                self.cond.wait(min(left, 0.5))

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Submission:
    """The outcome of one SMTP transaction submitted to Postfix: the
    replies as "CODE TEXT" strings."""

    def __init__(self, token):
        self.token = token
        self.mail = None
        self.rcpt = []
        self.data = None

    @property
    def accepted(self):
        return [r for r in self.rcpt if r.startswith("250 ")]


class PolicyMta:
    """What a test drives: the module's Postfix and its sink, the test's
    Redis, and policyd(...) to start the policy service Postfix asks."""

    def __init__(self, postfix, redis, policyd):
        self.postfix = postfix
        self.sink = postfix.sink
        self.submit = postfix.submit
        self.redis = redis
        self.policyd = policyd


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _reply(code, msg):
    text = msg.decode() if isinstance(msg, bytes) else msg
    return f"{code} {text}"


def shipped_relay_settings():
    """The settings of conf/main.cf's "Relay everything to Amazon SES"
    part, in order (continuation lines joined)."""
    out, part = [], None
    with open(os.path.join(lab.TOP, "conf", "main.cf")) as f:
        for line in f:
            if line.startswith("# ---"):
                part = line
            elif "Relay everything" not in (part or ""):
                continue
            elif line[:1] in " \t" and out:
                out[-1] = (out[-1][0], out[-1][1] + " " + line.strip())
            elif line.strip() and not line.startswith("#"):
                k, v = line.split("=", 1)
                out.append((k.strip(), v.strip()))
    return out


class Postfix:
    """A private Postfix instance in its own temporary directory, relaying
    to `sink` (an SmtpSink) and asking the policy service on policy_port
    (None: no policy service) and the milter on milter_port (None: no
    milter); start() then stop() (which also removes the directory)."""

    def __init__(self, sink, policy_port, smtpd_port, sasl_users=None,
                 milter_port=None, extra=None, ses_relay=False):
        self.dir = tempfile.mkdtemp(prefix="sesgate-postfix-")
        os.chmod(self.dir, 0o755)
        self.etc = os.path.join(self.dir, "etc")
        self.spool = os.path.join(self.dir, "spool")
        self.data = os.path.join(self.dir, "data")
        self.maillog = os.path.join(self.dir, "maillog")
        self.sink = sink
        self.policy_port = policy_port
        self.milter_port = milter_port
        self.port = smtpd_port
        self.sasl_users = dict(sasl_users or {})
        self.extra = dict(extra or {})
        self.sasl = bool(self.sasl_users) and shutil.which("saslpasswd2")
        self.ses_relay = ses_relay
        self.started = False
        for d in (self.etc, self.spool, self.data):
            os.makedirs(d)
        pw = pwd.getpwnam("postfix")
        os.chown(self.data, pw.pw_uid, pw.pw_gid)
        os.chmod(self.data, 0o700)
        self.write_main_cf()
        self.write_master_cf()
        if ses_relay:
            self.write_sasl_passwd()
        if self.sasl:
            self.write_sasl(pw)

    def main_cf(self):
        """The settings of main.cf, in order."""
        conf = [
            ("compatibility_level", "3.6"),
            ("queue_directory", self.spool),
            ("data_directory", self.data),
            ("mail_owner", "postfix"),
            ("setgid_group", "postdrop"),
            ("myhostname", HOSTNAME),
            ("mydomain", "sesgate.test"),
            ("myorigin", "$myhostname"),
            ("inet_interfaces", "127.0.0.1"),
            ("inet_protocols", "ipv4"),
            ("mydestination", ""),
            ("local_recipient_maps", ""),
            ("alias_maps", ""),
            ("alias_database", ""),
            ("relayhost", self.relay_dest()),
            ("mynetworks", "127.0.0.0/8"),
            ("smtp_tls_security_level", "none"),
            ("smtpd_tls_security_level", "none"),
            ("smtputf8_enable", "no"),
            ("biff", "no"),
            ("append_dot_mydomain", "no"),
            ("maillog_file", self.maillog),
            ("maillog_file_prefixes", self.dir),
            ("smtpd_relay_restrictions",
             "permit_mynetworks, permit_sasl_authenticated, "
             "reject_unauth_destination"),
            ("smtpd_recipient_restrictions",
             f"check_policy_service inet:127.0.0.1:{self.policy_port}, "
             "permit_mynetworks, reject_unauth_destination"),
            ("smtpd_policy_service_default_action",
             "451 4.3.5 Policy service unavailable"),
            ("smtpd_policy_service_timeout", "10s"),
            # Many refused recipients in one session must not slow the
            # session down nor end it.
            ("smtpd_error_sleep_time", "0"),
            ("smtpd_soft_error_limit", "1000"),
            ("smtpd_hard_error_limit", "1000"),
            ("smtpd_recipient_limit", "1000"),
            ("default_destination_recipient_limit", "50"),
            ("queue_run_delay", "1s"),
            ("minimal_backoff_time", "1s"),
            ("maximal_backoff_time", "2s"),
            ("delay_warning_time", "0"),
            # Tests stand in for remote clients with XCLIENT.
            ("smtpd_authorized_xclient_hosts", "127.0.0.0/8"),
        ]
        if self.policy_port is None:
            conf = [(k, v) for k, v in conf if k not in (
                "smtpd_recipient_restrictions",
                "smtpd_policy_service_default_action",
                "smtpd_policy_service_timeout")]
        if self.milter_port is not None:
            conf += [
                ("smtpd_milters", f"inet:127.0.0.1:{self.milter_port}"),
                ("non_smtpd_milters", "$smtpd_milters"),
                ("milter_default_action", "tempfail"),
                ("milter_protocol", "6"),
                # The milter, not Postfix, decides on size.
                ("message_size_limit", "41943040"),
            ]
        if self.sasl:
            conf += [
                ("smtpd_sasl_auth_enable", "yes"),
                ("smtpd_sasl_type", "cyrus"),
                ("smtpd_sasl_path", "smtpd"),
                ("cyrus_sasl_config_path", os.path.join(self.etc, "sasl")),
                ("smtpd_sasl_local_domain", SASL_REALM),
                ("smtpd_sasl_security_options", "noanonymous"),
            ]
        over = dict(self.ses_relay_settings() if self.ses_relay else [])
        over.update(self.extra)
        conf = [(k, v) for k, v in conf if k not in over]
        return conf + list(over.items())

    def relay_dest(self):
        return f"[127.0.0.1]:{self.sink.port}"

    def ses_relay_settings(self):
        """The relay part of the shipped conf/main.cf, as a sysadmin
        copies it, pointed at the sink (an SES simulator): its relayhost,
        its sasl_passwd map, and the simulator's CA for STARTTLS."""
        own = {"relayhost": self.relay_dest(),
               "smtp_sasl_password_maps":
               "hash:" + os.path.join(self.etc, "sasl_passwd"),
               "smtp_tls_CAfile": self.sink.ca_file}
        out = [(k, own.get(k, v)) for k, v in shipped_relay_settings()]
        return out + [(k, v) for k, v in own.items()
                      if k not in dict(out)]

    def write_sasl_passwd(self):
        """/etc/postfix/sasl_passwd as INSTALL has it, then postmap."""
        path = os.path.join(self.etc, "sasl_passwd")
        with open(path, "w") as f:
            f.write(f"{self.relay_dest()} "
                    f"{self.sink.user}:{self.sink.password}\n")
        os.chmod(path, 0o600)
        subprocess.run(["postmap", "-c", self.etc, f"hash:{path}"],
                       check=True,
                       capture_output=True, timeout=30)

    def write_main_cf(self):
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in self.main_cf():
                f.write(f"{k} = {v}\n")

    def write_master_cf(self):
        """The packaged master.cf with the smtpd listener moved to our
        loopback port and no service chrooted."""
        out = []
        with open("/usr/share/postfix/master.cf.dist") as f:
            for line in f:
                fields = line.split()
                if line[:1].isalpha() and len(fields) >= 8:
                    if fields[0] == "smtp" and fields[1] == "inet":
                        fields[0] = f"127.0.0.1:{self.port}"
                    fields[4] = "n"
                    line = " ".join(fields) + "\n"
                out.append(line)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.writelines(out)

    def write_sasl(self, pw):
        sasldir = os.path.join(self.etc, "sasl")
        os.makedirs(sasldir)
        db = os.path.join(sasldir, "sasldb2")
        with open(os.path.join(sasldir, "smtpd.conf"), "w") as f:
            f.write("pwcheck_method: auxprop\n"
                    "auxprop_plugin: sasldb\n"
                    "mech_list: PLAIN LOGIN\n"
                    f"sasldb_path: {db}\n")
        for user, password in self.sasl_users.items():
            subprocess.run(["saslpasswd2", "-p", "-c", "-f", db, "-u",
                            SASL_REALM, user], input=password.encode(),
                           check=True, capture_output=True)
        os.chown(db, pw.pw_uid, pw.pw_gid)
        os.chmod(db, 0o600)

    def postfix(self, *args):
        return subprocess.run(["postfix", "-c", self.etc] + list(args),
                              capture_output=True, text=True, timeout=60)

    def start(self):
        r = self.postfix("check")
        if r.returncode != 0:
            raise RuntimeError(f"postfix check failed: {r.stderr}"
                               f"{self.logtext()}")
        r = self.postfix("start")
        self.started = True
        if r.returncode != 0:
            raise RuntimeError(f"postfix start failed: {r.stderr}"
                               f"{self.logtext()}")
        deadline = time.monotonic() + 15
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=5) as s:
                    s.noop()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("postfix does not answer on "
                                       f"{self.port}: {self.logtext()}")
                time.sleep(0.1)

    def master_pid(self):
        try:
            with open(os.path.join(self.spool, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        """Stop the master (and with it every daemon of the instance),
        then remove the directory."""
        if self.started:
            pid = self.master_pid()
            self.postfix("stop")
            deadline = time.monotonic() + 15
            while pid is not None and _alive(pid):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    break
                time.sleep(0.1)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def logtext(self):
        try:
            with open(self.maillog) as f:
                return f.read()
        except OSError:
            return ""

    def submit(self, sender, rcpts, login=None, body="Test message.\r\n",
               data=True, headers=""):
        """One SMTP transaction: MAIL FROM:<sender>, one RCPT TO per
        recipient, then DATA when any recipient was accepted and `data`
        is true (headers, CRLF-ended lines, go after the usual ones).
        login is (user, password) for SMTP AUTH. Returns a Submission
        with every reply."""
        sub = Submission(uuid.uuid4().hex)
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
            s.ehlo("client.sesgate.test")
            if login is not None:
                s.login(*login)
            sub.mail = _reply(*s.mail(sender))
            for r in rcpts:
                sub.rcpt.append(_reply(*s.rcpt(r)))
            if data and sub.accepted:
                msg = (f"From: <{sender}>\r\n"
                       f"To: <{rcpts[0]}>\r\n"
                       "Subject: sesgate test\r\n"
                       f"{TEST_HEADER}: {sub.token}\r\n"
                       + headers + "\r\n" + body)
                sub.data = _reply(*s.data(msg.encode()))
            else:
                s.rset()
        return sub

    def send_as(self, addr, helo, sender, rcpts, message):
        """One SMTP transaction as if from client `addr` (XCLIENT; IPv6
        as "2001:db8::1") greeting with `helo`: MAIL FROM:<sender> ("" for
        <>), RCPT TO for each of rcpts, then DATA with `message` (bytes,
        CRLF lines) when a recipient was accepted. A Submission with the
        replies; its token is None."""
        sub = Submission(None)
        if ":" in addr:
            addr = "IPV6:" + addr
        with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as s:
            s.ehlo("xclient.sesgate.test")
            code, msg = s.docmd("XCLIENT",
                                f"ADDR={addr} NAME=[UNAVAILABLE]")
            if code != 220:
                raise RuntimeError(f"XCLIENT refused: {code} {msg}")
            s.ehlo_resp = None
            s.ehlo(helo)
            sub.mail = _reply(*s.docmd("MAIL", f"FROM:<{sender}>"))
            if sub.mail.startswith("250"):
                for r in rcpts:
                    sub.rcpt.append(_reply(*s.rcpt(r)))
            if sub.accepted:
                try:
                    sub.data = _reply(*s.data(message))
                except smtplib.SMTPDataError as e:
                    sub.data = _reply(e.smtp_code, e.smtp_error)
            else:
                s.rset()
        return sub

    def postfix_cmd(self, cmd, *args):
        """Run a Postfix command (postsuper, postqueue...) on this
        instance."""
        return subprocess.run([cmd, "-c", self.etc] + list(args),
                              capture_output=True, text=True, timeout=30)

    def queue(self):
        """The queue as `postqueue -j` lists it: one dict per message
        (queue_name is "hold" for a quarantined one)."""
        r = subprocess.run(["postqueue", "-c", self.etc, "-j"],
                           capture_output=True, text=True, timeout=30)
        return [json.loads(line) for line in r.stdout.splitlines()
                if line.strip()]


# What the tests read and write in Redis, spelled as man/sesgate-redis.7
# documents it, with the default prefix.

PREFIX = "sesgate:"


def usage(client, level, ident=None, window_ms=86400000):
    """Recipients counted in the rolling window of one level."""
    return lab.usage(client, level, ident, window_ms, PREFIX)


def level_key(kind, level, ident=None):
    """P kind:account, or P kind:level:ident (kind: pause, limits,
    usage)."""
    if level == "account":
        return f"{PREFIX}{kind}:account"
    return f"{PREFIX}{kind}:{level}:{ident}"


def suppress(client, addr_or_hash, reason="BOUNCE", when=1700000000,
             source="admin"):
    """A suppression entry as an admin script writes it: the hash and its
    index member."""
    client.hset(f"{PREFIX}suppression:{addr_or_hash}",
                mapping={"reason": reason, "time": when, "source": source})
    client.zadd(f"{PREFIX}suppressed", {addr_or_hash: when})


# The replies tests expect.

OK = "250 2.1.5 Ok"
QUOTA = "454 4.7.0 Throttling failure: Daily message quota exceeded."
RATE = "454 4.7.0 Throttling failure: Maximum sending rate exceeded."
TOO_MANY = "452 4.5.3 Too many recipients"


def refused(rcpt, action):
    """The RCPT reply of Postfix for a policy action "CODE DSN TEXT":
    Postfix puts the recipient, as the client gave it, before the text."""
    code, dsn, text = action.split(" ", 2)
    return f"{code} {dsn} <{rcpt}>: Recipient address rejected: {text}"
