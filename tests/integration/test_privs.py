"""Who the daemons run as. Started as root, each opens its sockets, gives
its unix sockets to [global] user and socket_group, then becomes that
user for good and keeps serving; it refuses to stay root unless
allow_root says so, and names a user or group that does not exist.

The daemons here become "nobody" (Debian's unprivileged user); their
files live in a directory outside pytest's (which only root may enter),
so that nobody can read its configuration and certificates and write
its spool."""
import grp
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

from feedback import FEEDBACKD, FeedbackD, SnsSigner, bounce
from lab import (MILTER, POLICYD, SESGATECTL, MilterD, PolicyD, wait_for,
                 write_conf)

EX_NOUSER = 67
EX_CONFIG = 78
NOBODY = pwd.getpwnam("nobody")
POSTFIX_GID = grp.getgrnam("postfix").gr_gid
AS_NOBODY = {"user": "nobody", "allow_root": "no",
             "socket_group": "postfix", "log_level": "info"}


@pytest.fixture
def opendir():
    """A directory anyone may enter; removed after."""
    d = tempfile.mkdtemp(prefix="sesgate-privs-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def ids(pid):
    """(uids, gids, supplementary groups) from /proc."""
    got = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            got[k] = v.split()
    return ([int(x) for x in got["Uid"]], [int(x) for x in got["Gid"]],
            [int(x) for x in got["Groups"]])


def as_nobody(pid):
    uids, gids, groups = ids(pid)
    # initgroups(): the user's own group and those that list it.
    return (uids == [NOBODY.pw_uid] * 4 and gids == [NOBODY.pw_gid] * 4
            and sorted(groups) == sorted(
                {NOBODY.pw_gid} | {g.gr_gid for g in grp.getgrall()
                                   if "nobody" in g.gr_mem}))


def became_nobody(pid):
    """as_nobody(pid) within 10 s: a daemon answers on its socket a moment
    before it gives up root (it listens first)."""
    return wait_for(lambda: as_nobody(pid))


def owner(path):
    st = os.stat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def readable_conf(d):
    """Let nobody read the daemon's configuration (for a reload)."""
    os.chmod(d.dir, 0o755)
    os.chmod(d.conf, 0o644)


@pytest.mark.parametrize("prog", [POLICYD, MILTER, FEEDBACKD],
                         ids=["policyd", "milter", "feedbackd"])
def test_root_refused_unless_allowed(tmp_path, prog):
    name = os.path.basename(prog)
    for user, extra, status, text in (
            ("root", {}, EX_CONFIG, "[global] user root: will not run as "
             "root; name an unprivileged user, or set allow_root = yes"),
            ("nosuchuser", {}, EX_NOUSER, "[global] user nosuchuser: no "
             "such user; create it (adduser --system --group "
             "--no-create-home nosuchuser) or name another"),
            ("nobody", {"socket_group": "nosuchgroup"}, EX_NOUSER,
             "[global] socket_group nosuchgroup: no such group")):
        conf = write_conf(str(tmp_path / f"{user}.conf"),
                          {"global": dict({"user": user}, **extra)})
        p = subprocess.run([prog, "-f", "-c", conf], capture_output=True,
                           text=True, timeout=30)
        assert (p.returncode, p.stderr) == (status, f"{name}: {text}\n")


def test_policyd_becomes_its_user(opendir, redis_server):
    d = PolicyD(os.path.join(opendir, "p"), redis_server.url,
                glob=AS_NOBODY)
    sock = d.socket
    try:
        assert became_nobody(d.proc.pid)
        assert owner(sock) == (NOBODY.pw_uid, POSTFIX_GID, 0o660)
        c = d.connect()
        assert c.ask(sender="a@unverified.example",
                     recipient="r@dest.example").startswith("554 5.7.1 ")
        # A reload reads the file as the user.
        readable_conf(d)
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "configuration reloaded" not in d.logtext():
            assert time.monotonic() < deadline, d.logtext()
            time.sleep(0.05)
        assert c.ask(sender="a@unverified.example",
                     recipient="r@dest.example").startswith("554 5.7.1 ")
        c.close()
    finally:
        d.stop()
    assert d.proc.returncode == 0


def test_milter_becomes_its_user(opendir, redis_server):
    sock = os.path.join(opendir, "milter.sock")
    d = MilterD(os.path.join(opendir, "m"), redis_server.url, unix=sock,
                glob=AS_NOBODY, milter={"listen": "unix:" + sock})
    try:
        assert became_nobody(d.proc.pid)
        assert owner(sock) == (NOBODY.pw_uid, POSTFIX_GID, 0o660)
        readable_conf(d)
        d.reload()
    finally:
        d.stop()
    assert d.proc.returncode == 0


def test_feedbackd_becomes_its_user(opendir, redis_server):
    signer = SnsSigner(os.path.join(opendir, "certs"))
    for root, dirs, files in os.walk(signer.dir):
        os.chmod(root, 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)
    spool = os.path.join(opendir, "spool")
    os.mkdir(spool)
    os.chown(spool, NOBODY.pw_uid, NOBODY.pw_gid)
    d = FeedbackD(os.path.join(opendir, "f"), redis_server.url, signer.dir,
                  glob=AS_NOBODY,
                  feedbackd={"spool": os.path.join(spool, "f.spool")})
    try:
        assert became_nobody(d.proc.pid)
        body = signer.notification(bounce(["gone@dest.example"]))
        assert d.post(body) == (200, "stored")
        # Redis away: the spool, written as the user, takes it.
        redis_server.stop()
        body = signer.notification(bounce(["later@dest.example"]))
        assert d.post(body) == (200, "spooled")
        assert owner(os.path.join(spool, "f.spool"))[0] == NOBODY.pw_uid
    finally:
        d.stop()
    assert d.proc.returncode == 0


def test_milter_reads_keys_as_its_user(opendir, redis_server):
    """The keys are read once the milter is its user, at the start as on
    a reload: a key only root may read stops the start, naming it; once
    the user owns it, the milter starts."""
    key = os.path.join(opendir, "example.com.s1.pem")
    r = subprocess.run([SESGATECTL, "dkim", "keygen", "example.com", "s1",
                        "--out", key], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert owner(key) == (0, 0, 0o600)
    conf = write_conf(os.path.join(opendir, "sesgate.conf"), {
        "global": AS_NOBODY, "redis": {"url": redis_server.url},
        "milter": {"listen": "inet:0@127.0.0.1",
                   "dkim_key": f"example.com s1 {key}"}})
    os.chmod(conf, 0o644)
    p = subprocess.run([MILTER, "-f", "-c", conf], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == EX_CONFIG, p.stderr
    assert p.stderr.endswith(
        f": error: milter: {key}: permission denied; the key must be "
        "readable by the user that signs (its owner, mode 0600 or "
        "0400)\n"), p.stderr
    os.chown(key, NOBODY.pw_uid, NOBODY.pw_gid)
    d = MilterD(os.path.join(opendir, "m"), redis_server.url,
                glob=AS_NOBODY, milter={"dkim_key": f"example.com s1 {key}"})
    try:
        assert became_nobody(d.proc.pid)
    finally:
        d.stop()
    assert d.proc.returncode == 0
