"""The units of contrib/systemd as systemd runs them. `make install`
writes them into a staging tree (PREFIX=/usr/local,
SYSCONFDIR=/usr/local/etc), which is laid over /usr/local in a namespace
where systemd is PID 1 (systemdns.py); nothing else of the machine is
started. There, with the units' whole sandboxing in force:

- each daemon starts (Type=notify: `systemctl start` returns once it
  said READY=1), runs as [global] user with no capability left, under
  NoNewPrivileges and the system call filter;
- a message from a private Postfix on the machine goes through the
  policy service and the milter and reaches the sink signed, and an
  unverified sender is refused;
- with Redis down, sesgate-feedbackd acknowledges a notification from
  its spool in /var/spool/sesgate (the one writable path ProtectSystem=
  strict leaves it) and applies it when Redis is back;
- `systemctl reload` reloads each daemon and `systemctl stop` ends each
  with exit status 0.

Key, spool and configuration are owned and moded as the Debian package
makes them: the daemons start as root without CAP_DAC_OVERRIDE, so what
they read must be readable by their user or by root as owner.

Left out of the run under ASan: LeakSanitizer stops the program with
ptrace, which the units' system call filter refuses."""
import grp
import http.client
import os
import pwd
import shutil
import subprocess

import pytest

from feedback import SnsSigner, bounce
from lab import (BUILD, TOP, RedisServer, free_port, wait_for, wait_port,
                 write_conf)
from postfix import Postfix, SmtpSink
from systemdns import CAPBND, Systemd, usable

pytestmark = [
    pytest.mark.skipif(usable() is not None, reason=str(usable())),
    pytest.mark.skipif(os.environ.get("SANITIZE") == "1",
                       reason="LeakSanitizer needs ptrace, which the "
                       "units' SystemCallFilter refuses; tested in the "
                       "normal run"),
]

DAEMONS = ("sesgate-policyd", "sesgate-milter", "sesgate-feedbackd")
USER = "nobody"
DOMAIN = "units.example"
SELECTOR = "sd1"
P = "sesgate:"


def chown(path, user, group, mode):
    os.chown(path, pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)
    os.chmod(path, mode)


class Stack:
    pass


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack()
    work = tmp_path_factory.mktemp("systemd")
    os.chmod(work, 0o755)
    stage = work / "stage"
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "SANITIZE",
                        "BUILD", "DESTDIR", "PREFIX", "SYSCONFDIR")}
    r = subprocess.run(["make", "-s", "-C", TOP, "install",
                        f"DESTDIR={stage}", "PREFIX=/usr/local",
                        "SYSCONFDIR=/usr/local/etc"], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    etc = stage / "usr/local/etc/sesgate"
    spool = work / "var-spool"
    os.makedirs(spool / "sesgate")
    chown(spool / "sesgate", USER, "nogroup", 0o750)
    s.spool = str(spool / "sesgate" / "feedbackd.spool")

    s.redis = RedisServer(work / "redis")
    s.signer = SnsSigner(etc / "certs")
    s.ports = {n: free_port() for n in ("policyd", "milter", "feedbackd",
                                        "metrics")}
    keys = etc / "keys"
    os.makedirs(keys)
    key = keys / f"{DOMAIN}.{SELECTOR}.pem"
    r = subprocess.run([os.path.join(BUILD, "sesgatectl"), "dkim",
                        "keygen", DOMAIN, SELECTOR, "--out", str(key)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    chown(keys, USER, "nogroup", 0o700)
    chown(key, USER, "nogroup", 0o600)
    s.conf = etc / "sesgate.conf"
    write_conf(s.conf, {
        "global": {"user": USER, "log_level": "debug"},
        "redis": {"url": s.redis.url},
        "policyd": {"listen": f"inet:127.0.0.1:{s.ports['policyd']}"},
        "milter": {"listen": f"inet:{s.ports['milter']}@127.0.0.1",
                   "dkim_key": f"{DOMAIN} {SELECTOR} "
                   f"/usr/local/etc/sesgate/keys/{key.name}"},
        "feedbackd": {"listen": f"inet:127.0.0.1:{s.ports['feedbackd']}",
                      "metrics_listen":
                      f"inet:127.0.0.1:{s.ports['metrics']}",
                      "cert_dir": "/usr/local/etc/sesgate/certs",
                      "fetch": "no"},
    })
    chown(s.conf, "root", "nogroup", 0o640)
    s.redis.cli("SADD", f"{P}identities", DOMAIN)

    s.sd = Systemd(work, binds=[(stage / "usr/local/sbin",
                                 "/usr/local/sbin"),
                                (stage / "usr/local/etc", "/usr/local/etc"),
                                (spool, "/var/spool")])
    s.logs = {}
    unitdir = stage / "usr/local/lib/systemd/system"
    for d in DAEMONS:
        with open(unitdir / f"{d}.service") as f:
            text = f.read()
        assert f"ExecStart=/usr/local/sbin/{d} -f -c " \
            "/usr/local/etc/sesgate/sesgate.conf\n" in text
        s.logs[d] = str(work / f"{d}.log")
        s.sd.add_unit(f"{d}.service", text, log=s.logs[d])
    s.sink = SmtpSink()
    s.pf = None
    try:
        s.sd.start()
        s.pf = Postfix(s.sink, policy_port=s.ports["policyd"],
                       smtpd_port=free_port(),
                       milter_port=s.ports["milter"])
        s.pf.start()
        yield s
    finally:
        if s.pf is not None:
            s.pf.stop()
        s.sd.stop()
        s.sink.close()
        s.redis.stop()
        shutil.rmtree(stage, ignore_errors=True)


def logtext(s, d):
    with open(s.logs[d], errors="replace") as f:
        return f.read()


def why(s, d):
    return s.sd.why(d, s.logs[d])


def test_units_start_sandboxed_as_their_user(stack):
    s = stack
    for d in DAEMONS:
        s.sd.start_service(f"{d}.service", pwd.getpwnam(USER).pw_uid,
                           CAPBND, s.logs[d])
    for port in s.ports.values():
        wait_port(port)


def test_message_through_the_units(stack):
    s = stack
    rcpt = "bob@dest.example"
    sub = s.pf.submit(f"alice@{DOMAIN}", [rcpt])
    assert sub.accepted == [sub.rcpt[0]] and sub.data.startswith("250 "), \
        (sub.rcpt, sub.data, s.pf.logtext())
    assert s.sink.wait_recipients(1, sub.token) == [rcpt], s.pf.logtext()
    got = s.sink.received(sub.token)[0]
    sig = " ".join(got.headers("DKIM-Signature"))
    assert f"d={DOMAIN};" in sig and f"s={SELECTOR};" in sig, \
        why(s, "sesgate-milter")
    sub = s.pf.submit("eve@unverified.example", [rcpt])
    assert sub.rcpt == [
        f"554 5.7.1 <{rcpt}>: Recipient address rejected: Message "
        "rejected: Email address is not verified. The following "
        "identities failed the check in region us-east-1: "
        "eve@unverified.example"]


def test_feedbackd_spools_in_its_writable_path(stack):
    s = stack
    port = s.redis.port
    c = s.redis.client()
    s.redis.stop()
    try:
        status = post(s, s.signer.notification(bounce(["gone@dest.example"])))
        assert status == 200, why(s, "sesgate-feedbackd")
        assert os.path.getsize(s.spool) > 0
    finally:
        s.redis.port = port
        s.redis.start()
    assert wait_for(lambda: c.hget(f"{P}suppression:gone@dest.example",
                                   "reason") == "BOUNCE"), \
        why(s, "sesgate-feedbackd")
    assert wait_for(lambda: os.path.getsize(s.spool) == 0)


def post(s, body):
    h = http.client.HTTPConnection("127.0.0.1", s.ports["feedbackd"],
                                   timeout=30)
    try:
        h.request("POST", "/sns", body=body, headers={
            "Content-Type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": "Notification"})
        r = h.getresponse()
        r.read()
        return r.status
    finally:
        h.close()


RELOADED = {"sesgate-policyd": "policyd: configuration reloaded from ",
            "sesgate-milter": "milter: reloaded ",
            "sesgate-feedbackd": "feedbackd: reloaded "}


def test_systemctl_reload(stack):
    s = stack
    for d in DAEMONS:
        before = logtext(s, d).count(RELOADED[d])
        r = s.sd.ctl("reload", d, check=False)
        assert r.returncode == 0, why(s, d)
        assert wait_for(lambda: logtext(s, d).count(RELOADED[d]) > before), \
            why(s, d)
        assert s.sd.show(f"{d}.service", "ActiveState")["ActiveState"] \
            == "active"


def test_systemctl_stop(stack):
    s = stack
    for d in DAEMONS:
        s.sd.stop_service(f"{d}.service", s.logs[d])
