"""The Debian package: dpkg-buildpackage builds it from a copy of the
tree; it holds the programs, man pages and units under /usr and the
configuration as a conffile; installed with dpkg, it makes the sesgate
user, its spool and key directory; systemd (as PID 1 of a namespace of
its own, systemdns.py) starts the installed units, the daemons become
that user and run a message from a private Postfix to a sink,
DKIM-signed, and stop cleanly; dpkg --purge leaves nothing.

The build takes the working tree as it is (committed or not) and writes
only in a temporary directory. The test installs on this machine, so it
needs root, and it is left out of the run under ASan: the package is
built without sanitizers."""
import contextlib
import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile

import pytest

from lab import TOP, RedisServer, free_port, write_conf
from postfix import Postfix, SmtpSink
from systemdns import CAPBND, Systemd, usable

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="installs a package: needs root"),
    pytest.mark.skipif(shutil.which("dpkg-buildpackage") is None,
                       reason="dpkg-buildpackage missing "
                       "(apt-get install dpkg-dev debhelper)"),
    pytest.mark.skipif(usable() is not None, reason=str(usable())),
    pytest.mark.skipif(os.environ.get("SANITIZE") == "1",
                       reason="the package is built without sanitizers; "
                       "tested in the normal run"),
]

PKG = "sesgate"
PROGRAMS = ["sesgate-policyd", "sesgate-milter", "sesgate-feedbackd",
            "sesgatectl"]
DAEMONS = PROGRAMS[:3]
MAN_PAGES = ["man5/sesgate.conf.5.gz", "man7/sesgate-redis.7.gz"] + [
    f"man8/{p}.8.gz" for p in PROGRAMS]
CONF = "/etc/sesgate/sesgate.conf"
SPOOL = "/var/spool/sesgate"
KEYS = "/etc/sesgate/keys"
WANTS = "/etc/systemd/system/multi-user.target.wants"
DOMAIN = "example.com"
SELECTOR = "pkgtest"
# What dh and dpkg-buildpackage write in the tree, besides build/.
OUTPUTS = ("debian/sesgate/", "debian/.debhelper/", "debian/files",
           "debian/debhelper-build-stamp")


def run(*args, timeout=60, **kw):
    return subprocess.run(list(args), capture_output=True, text=True,
                          timeout=timeout, **kw)


def out(r):
    return f"exit {r.returncode}\n{r.stdout}{r.stderr}"


def installed():
    r = run("dpkg-query", "-W", "-f=${db:Status-Abbrev}", PKG)
    return r.returncode == 0 and r.stdout[:2] not in ("", "un", "n ")


def user_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def group_exists(name):
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def owner(path):
    st = os.stat(path)
    return (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name,
            stat.S_IMODE(st.st_mode))


def source_files():
    """The working tree's files that git knows or would add."""
    r = run("git", "-C", TOP, "ls-files", "-z", "--cached", "--others",
            "--exclude-standard")
    assert r.returncode == 0, out(r)
    names = [n for n in r.stdout.split("\0") if n]
    return [n for n in names if not n.startswith(OUTPUTS)
            and not n.endswith((".substvars", ".debhelper.log"))
            and os.path.isfile(os.path.join(TOP, n))]


def version():
    """The version of debian/changelog's first entry."""
    with open(os.path.join(TOP, "debian", "changelog")) as f:
        return f.readline().split("(", 1)[1].split(")", 1)[0]


def tree(top):
    found = set()
    for root, _dirs, files in os.walk(top):
        for f in files:
            found.add(os.path.relpath(os.path.join(root, f), top))
    return found


def build_package(workdir):
    """Copy the tree to workdir/src, build there; the .deb's path."""
    src = os.path.join(workdir, "src")
    for name in source_files():
        dst = os.path.join(src, name)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.join(TOP, name), dst)
    before = tree(src)
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "SANITIZE",
                        "BUILD", "CFLAGS", "LDFLAGS", "CPPFLAGS")}
    r = run("dpkg-buildpackage", "-b", "-us", "-uc", cwd=src, env=env,
            timeout=360)
    assert r.returncode == 0, out(r)[-6000:]
    # Nothing written in the tree but the build directory and debian/.
    new = sorted(n for n in tree(src) - before
                 if not n.startswith(("build/", "debian/")))
    assert new == []
    arch = run("dpkg", "--print-architecture").stdout.strip()
    deb = os.path.join(workdir, f"sesgate_{version()}_{arch}.deb")
    assert os.path.isfile(deb), sorted(os.listdir(workdir))
    return deb


def check_contents(deb, workdir):
    r = run("dpkg-deb", "-c", deb)
    assert r.returncode == 0, out(r)
    paths = {line.split()[5].lstrip(".") for line in r.stdout.splitlines()}
    for p in PROGRAMS:
        assert f"/usr/sbin/{p}" in paths
    for m in MAN_PAGES:
        assert f"/usr/share/man/{m}" in paths
    assert CONF in paths
    assert "/usr/share/doc/sesgate/copyright" in paths

    r = run("dpkg-deb", "-I", deb, "conffiles")
    assert r.returncode == 0, out(r)
    assert r.stdout.split() == [CONF]
    r = run("dpkg-deb", "-f", deb, "Package", "Depends")
    assert r.returncode == 0, out(r)
    assert r.stdout.startswith("Package: sesgate\n")
    for dep in ("adduser", "publicsuffix", "libhiredis", "libmilter"):
        assert dep in r.stdout

    # The units name the installed programs; postinst enables them.
    root = os.path.join(workdir, "root")
    r = run("dpkg-deb", "-x", deb, root)
    assert r.returncode == 0, out(r)
    for d in DAEMONS:
        with open(os.path.join(root, "usr/lib/systemd/system",
                               f"{d}.service")) as f:
            unit = f.read()
        assert (f"ExecStart=/usr/sbin/{d} -f -c {CONF}\n") in unit
    r = run("dpkg-deb", "-I", deb, "postinst")
    assert r.returncode == 0, out(r)
    for d in DAEMONS:
        assert f"deb-systemd-helper enable '{d}.service'" in r.stdout
    assert "deb-systemd-invoke $_dh_action" in r.stdout


def check_installed():
    sesgate = pwd.getpwnam("sesgate")
    assert sesgate.pw_uid < 1000 and sesgate.pw_dir == "/nonexistent"
    assert grp.getgrgid(sesgate.pw_gid).gr_name == "sesgate"
    assert owner(SPOOL) == ("sesgate", "sesgate", 0o750)
    assert owner(KEYS) == ("sesgate", "sesgate", 0o700)
    assert owner(CONF) == ("root", "sesgate", 0o640)
    r = run("dpkg-query", "-W", "-f=${Conffiles}", PKG)
    assert r.stdout.split()[0] == CONF, out(r)
    for p in PROGRAMS:
        assert os.access(f"/usr/sbin/{p}", os.X_OK)
    for d in DAEMONS:
        assert os.path.islink(os.path.join(WANTS, f"{d}.service"))


def sections(redis_url, ports, certs, key=None):
    milter = {"listen": f"inet:{ports['milter']}@127.0.0.1"}
    if key is not None:
        milter["dkim_key"] = f"{DOMAIN} {SELECTOR} {key}"
    return {
        "global": {"user": "sesgate", "allow_root": "no",
                   "log_level": "debug"},
        "redis": {"url": redis_url},
        "policyd": {"listen": f"inet:127.0.0.1:{ports['policyd']}"},
        "milter": milter,
        "feedbackd": {"listen": f"inet:127.0.0.1:{ports['feedbackd']}",
                      "metrics_listen":
                      f"inet:127.0.0.1:{ports['metrics']}",
                      "cert_dir": certs, "fetch": "no"},
    }


def run_message(stack, opendir):
    """The installed units, run by systemd (systemdns.py) as on a booted
    machine, with a private Redis and Postfix: one message from a
    verified sender reaches the sink, signed."""
    redis = RedisServer(os.path.join(opendir, "redis"))
    stack.callback(redis.stop)
    # Outside /tmp, which the units see privately; removed before the
    # purge, which removes /etc/sesgate only when empty.
    certs = os.path.join("/etc/sesgate", "test-certs")
    os.makedirs(certs, mode=0o755)
    stack.callback(shutil.rmtree, certs, ignore_errors=True)
    ports = {n: free_port() for n in ("policyd", "milter", "feedbackd",
                                      "metrics")}
    # The packaged configuration file, root-owned and readable by group
    # sesgate, as installed.
    assert owner(CONF) == ("root", "sesgate", 0o640)
    write_conf(CONF, sections(redis.url, ports, certs))

    ctl = "/usr/sbin/sesgatectl"
    key = os.path.join(KEYS, f"{DOMAIN}.{SELECTOR}.pem")
    r = run(ctl, "dkim", "keygen", DOMAIN, SELECTOR, "--out", key)
    assert r.returncode == 0, out(r)
    sesgate = pwd.getpwnam("sesgate")
    os.chown(key, sesgate.pw_uid, sesgate.pw_gid)
    os.chmod(key, 0o600)
    write_conf(CONF, sections(redis.url, ports, certs, key))
    assert owner(CONF) == ("root", "sesgate", 0o640)
    r = run(ctl, "identity", "add", DOMAIN)
    assert r.returncode == 0, out(r)
    r = run(ctl, "check-config")
    assert r.returncode == 0, out(r)

    sd = Systemd(os.path.join(opendir, "systemd"))
    logs = {}
    for d in DAEMONS:
        with open(f"/usr/lib/systemd/system/{d}.service") as f:
            logs[d] = os.path.join(opendir, f"{d}.log")
            sd.add_unit(f"{d}.service", f.read(), log=logs[d])
    stack.callback(sd.stop)
    sd.start()
    for d in DAEMONS:
        sd.start_service(f"{d}.service", sesgate.pw_uid, CAPBND, logs[d])

    sink = SmtpSink()
    stack.callback(sink.close)
    pf = Postfix(sink, policy_port=ports["policyd"],
                 smtpd_port=free_port(), milter_port=ports["milter"])
    stack.callback(pf.stop)
    pf.start()

    rcpt = "bob@dest.example"
    sub = pf.submit(f"alice@{DOMAIN}", [rcpt])
    assert sub.accepted == [sub.rcpt[0]] and sub.data.startswith("250 "), \
        (sub.rcpt, sub.data, pf.logtext())
    assert sink.wait_recipients(1, sub.token) == [rcpt], pf.logtext()
    got = sink.received(sub.token)[0]
    sig = " ".join(got.headers("DKIM-Signature"))
    assert f"d={DOMAIN};" in sig and f"s={SELECTOR};" in sig, got.data
    # The policy service is in the path: an unverified sender is refused.
    sub = pf.submit("eve@unverified.example", [rcpt])
    assert sub.accepted == [] and sub.rcpt[0].startswith("554 "), sub.rcpt

    for d in DAEMONS:
        sd.stop_service(f"{d}.service", logs[d])


def purge():
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return run("dpkg", "--purge", PKG, env=env, timeout=120)


def test_package_builds_installs_runs_and_purges():
    if installed() or os.path.exists("/etc/sesgate") \
            or user_exists("sesgate"):
        pytest.skip("sesgate is installed here already (package, "
                    "/etc/sesgate or user): the test would replace it")
    workdir = tempfile.mkdtemp(prefix="sesgate-deb-")
    opendir = tempfile.mkdtemp(prefix="sesgate-debrun-")
    os.chmod(opendir, 0o755)
    try:
        deb = build_package(workdir)
        check_contents(deb, workdir)

        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = run("dpkg", "-i", deb, env=env, timeout=120)
        assert r.returncode == 0, \
            "dpkg -i failed (missing dependencies? run contrib/" \
            "install-deps as root):\n" + out(r)
        check_installed()

        with contextlib.ExitStack() as stack:
            run_message(stack, opendir)

        r = purge()
        assert r.returncode == 0, out(r)
        assert not installed()
        for p in PROGRAMS:
            assert not os.path.exists(f"/usr/sbin/{p}")
        for path in (SPOOL, "/etc/sesgate", WANTS + "/sesgate-policyd."
                     "service", "/usr/lib/systemd/system/sesgate-milter."
                     "service"):
            assert not os.path.lexists(path), path
        assert not user_exists("sesgate")
        assert not group_exists("sesgate")
    finally:
        if installed():
            purge()
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(opendir, ignore_errors=True)
