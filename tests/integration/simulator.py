"""contrib/ses-simulator, the stand-in for SES's SMTP endpoint, as the
tests and the demo run it: on a loopback port, files in a directory of its
own, stopped by its PID and started again on the same port with the mail
it kept. The SMTP password is the one `sesgatectl smtp-password` derives
from the simulator's secret key, as a sysadmin gets it.

    sim = Simulator(tmp_path / "sim", notify=(fd_url, signer))
    ... Postfix relays to 127.0.0.1:sim.port as sim.user/sim.password ...
    sim.wait_messages(1)[0].header("DKIM-Signature")
"""
import email.parser
import email.policy
import glob
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import time

from cryptography.hazmat.primitives import serialization

from lab import SESGATECTL, TOP, free_port, stop_pid, wait_port

SIM = os.path.join(TOP, "contrib", "ses-simulator")
USER = "AKIAIOSFODNN7EXAMPLE"
# AWS's documentation key (SES-REFERENCE.md 1.2).
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _load():
    """contrib/ses-simulator as a module (its name has no .py), leaving
    no compiled file in contrib/."""
    loader = importlib.machinery.SourceFileLoader("ses_simulator", SIM)
    spec = importlib.util.spec_from_loader("ses_simulator", loader)
    mod = importlib.util.module_from_spec(spec)
    keep, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        loader.exec_module(mod)
    finally:
        sys.dont_write_bytecode = keep
    return mod


# AWS's algorithm for the SES SMTP password of a secret key, as the
# simulator computes it: written without sesgate's code, so tests can
# hold sesgatectl's derivation against it.
derive = _load().smtp_password


def smtp_password(region):
    """The SMTP password of SECRET in region, from sesgatectl."""
    p = subprocess.run([SESGATECTL, "-c", "/dev/null", "--json",
                        "smtp-password", "--region", region],
                       input=SECRET + "\n", capture_output=True, text=True,
                       timeout=30, check=True)
    return json.loads(p.stdout)["password"]


class Mail:
    """One message the simulator accepted: its envelope (ID.json) and the
    bytes received (ID.eml)."""

    def __init__(self, base):
        with open(base + ".json") as f:
            env = json.load(f)
        with open(base + ".eml", "rb") as f:
            self.data = f.read()
        self.ses_id = os.path.basename(base)
        self.mail_from = env["mail_from"]
        self.rcpts = env["rcpts"]
        self.auth_user = env.get("auth_user")
        self.msg = email.parser.BytesHeaderParser(
            policy=email.policy.compat32).parsebytes(self.data)

    def header(self, name):
        v = self.msg.get(name)
        return None if v is None else " ".join(str(v).split())

    def headers(self, name):
        return [" ".join(str(v).split())
                for v in self.msg.get_all(name, [])]


class Simulator:
    """contrib/ses-simulator on a free loopback port (or `port`), its
    files in `directory`; `extra` are more of its options. notify is
    (URL, SnsSigner): the mailbox simulator's notifications go to URL,
    signed with the signer's key and certificate."""

    def __init__(self, directory, *extra, region="us-east-1", port=None,
                 notify=None):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.region = region
        self.spool = os.path.join(self.dir, "spool")
        self.ca_file = os.path.join(self.dir, "ca.pem")
        self.pidfile = os.path.join(self.dir, "pid")
        self.logfile = os.path.join(self.dir, "ses-simulator.log")
        self.user = USER
        self.password = smtp_password(region)
        self.args = [str(self.port), "--user", USER, "--secret", SECRET,
                     "--region", region, "--spool", self.spool,
                     "--pidfile", self.pidfile]
        if "--no-tls" not in extra and "--tls-cert" not in extra:
            self.args += ["--write-ca", self.ca_file]
        if notify is not None:
            self.args += self.notify_args(*notify)
        self.args += list(extra)
        self.proc = None
        self.start()

    def notify_args(self, url, signer):
        key = os.path.join(self.dir, "sns-key.pem")
        cert = os.path.join(self.dir, "sns-cert.pem")
        with open(key, "wb") as f:
            f.write(signer.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
        with open(cert, "wb") as f:
            f.write(signer.cert.public_bytes(serialization.Encoding.PEM))
        return ["--notify", url, "--sns-key", key, "--sns-cert", cert,
                "--notify-delay", "0.5"]

    def start(self):
        """Start (again, on the same port, keeping the spool)."""
        with open(self.logfile, "a") as err:
            self.proc = subprocess.Popen([SIM] + self.args, stderr=err)
        wait_port(self.port, proc=self.proc)

    def stop(self):
        stop_pid(self.proc)

    def logtext(self):
        try:
            with open(self.logfile) as f:
                return f.read()
        except OSError:
            return ""

    def messages(self):
        """Every message accepted so far, oldest first."""
        bases = [p[:-5] for p in glob.glob(os.path.join(self.spool,
                                                        "*.json"))]
        return [Mail(b) for b in sorted(bases)]

    def wait_messages(self, count, timeout=30.0):
        """The messages, once there are at least count (or at timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.messages()
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.1)
