"""systemd itself, as PID 1 of a PID and mount namespace of its own on
this machine's file system, to run units as systemd runs them: their
sandboxing, Type=notify, ExecReload, the stop.

Nothing of the machine's own is started. systemd reads units only from
the test's directory (SYSTEMD_UNIT_PATH), which holds empty stand-ins
for the targets a service's default dependencies name and the units
under test. In the namespace /run, /tmp and /var/tmp are fresh tmpfs (so
nothing systemd or PrivateTmp= writes reaches the machine's), the
test's directory is laid back at its own path for systemd to read, and
`binds` lay directories over existing ones (an installed tree over
/usr/local, say). systemd's own log goes to a file bound over
/dev/console. stop() kills PID 1 of the namespace by its PID, which ends
every process in it, and removes the cgroups systemd made."""
import os
import signal
import subprocess
import time

SYSTEMD = "/lib/systemd/systemd"
TARGET = "sesgate-test.target"
# Named by a service's default dependencies and by our units.
TARGETS = ("sysinit", "basic", "shutdown", "sockets", "timers", "paths",
           "local-fs", "network", "network-online", "multi-user",
           "sesgate-test")
CGROUPS = "/sys/fs/cgroup"
# CAP_CHOWN, CAP_SETGID, CAP_SETUID: the bounding set of sesgate's units,
# as /proc/PID/status shows it.
CAPBND = "00000000000000c1"

BOOT = r"""set -e
work=$1 console=$2
shift 2
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir /run/sesgate-test-work
mount --bind "$work" /run/sesgate-test-work
while [ $# -ge 2 ]; do mount --bind "$1" "$2"; shift 2; done
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
mkdir -p "$work"
mount --bind /run/sesgate-test-work "$work"
mount --bind "$console" /dev/console
exec env -i container=sesgate-test SYSTEMD_UNIT_PATH="$work/units" \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin """ + SYSTEMD + r""" --system \
    --unit=""" + TARGET + r""" --log-target=console --log-level=info \
    --show-status=no
"""


def usable():
    """Why systemd cannot be run here, or None."""
    if os.geteuid() != 0:
        return "needs root (namespaces, cgroups)"
    for prog in (SYSTEMD, "/usr/bin/unshare", "/usr/bin/nsenter"):
        if not os.access(prog, os.X_OK):
            return f"{prog} missing (apt-get install systemd util-linux)"
    if not os.path.isdir(os.path.join(CGROUPS, "systemd")) and \
            not os.path.isfile(os.path.join(CGROUPS, "cgroup.controllers")):
        return "no cgroup hierarchy for systemd under " + CGROUPS
    return None


def cgroup_dirs():
    found = set()
    for root, dirs, _files in os.walk(CGROUPS):
        for d in dirs:
            found.add(os.path.join(root, d))
    return found


class Systemd:
    """workdir (not under /tmp's PrivateTmp view of a service, which
    does not matter: services see only what binds put in place) holds
    units/ and the logs."""

    def __init__(self, workdir, binds=()):
        self.work = str(workdir)
        self.units = os.path.join(self.work, "units")
        self.console = os.path.join(self.work, "systemd.log")
        self.binds = list(binds)
        self.proc = None
        self.pid = None
        self.before = set()     # cgroups that were there before systemd
        os.makedirs(self.units, exist_ok=True)
        for t in TARGETS:
            self.add_unit(f"{t}.target",
                          f"[Unit]\nDescription=stand-in for {t}\n")

    def add_unit(self, name, text, log=None):
        """A unit file; with log, a drop-in sends the service's output to
        that file (systemd opens it, outside the sandbox)."""
        with open(os.path.join(self.units, name), "w") as f:
            f.write(text)
        if log is not None:
            d = os.path.join(self.units, name + ".d")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "log.conf"), "w") as f:
                f.write(f"[Service]\nStandardOutput=append:{log}\n"
                        "StandardError=inherit\n")

    def start(self, timeout=30.0):
        self.before = cgroup_dirs()
        open(self.console, "w").close()
        args = ["unshare", "--pid", "--fork", "--mount", "--mount-proc",
                "sh", "-c", BOOT, "boot", self.work, self.console]
        for src, dst in self.binds:
            args += [str(src), str(dst)]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while self.pid is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("systemd did not start: "
                                   + self.proc.stdout.read().decode()
                                   + self.logtext())
            try:
                with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/"
                          "children") as f:
                    kids = f.read().split()
                if kids and os.readlink(f"/proc/{kids[0]}/exe") == \
                        os.path.realpath(SYSTEMD):
                    self.pid = int(kids[0])
            except OSError:
                pass
            time.sleep(0.05)
        while True:
            r = self.ctl("is-system-running", check=False)
            if r.stdout.strip() in ("running", "degraded"):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("systemd not running: " + r.stdout
                                   + r.stderr + self.logtext())
            time.sleep(0.1)

    def ctl(self, *args, check=True, timeout=60):
        """systemctl in the namespace."""
        return self.run("systemctl", "--no-pager", *args, check=check,
                        timeout=timeout)

    def run(self, *args, check=True, timeout=60):
        """A command in the namespace (as root, outside any unit)."""
        r = subprocess.run(["nsenter", "-t", str(self.pid), "-a"]
                           + list(args), capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(args)}: exit {r.returncode}"
                                 f"\n{r.stdout}{r.stderr}")
        return r

    def show(self, unit, *props):
        """{property: value} of the unit."""
        r = self.ctl("show", unit, *[f"--property={p}" for p in props])
        return dict(line.split("=", 1) for line in r.stdout.splitlines()
                    if "=" in line)

    def proc_status(self, pid):
        """/proc/PID/status of a process of the namespace, as a dict."""
        r = self.run("cat", f"/proc/{pid}/status")
        return dict(line.split(":", 1) for line in r.stdout.splitlines()
                    if ":" in line)

    def logtext(self):
        with open(self.console, errors="replace") as f:
            return f.read()

    def why(self, unit, log=None):
        """systemctl status, the service's log file and systemd's log:
        the text of a failed assertion."""
        r = self.ctl("status", unit, check=False)
        text = r.stdout + r.stderr
        if log is not None:
            with open(log, errors="replace") as f:
                text += "\n" + f.read()
        return text + "\n" + self.logtext()[-3000:]

    def start_service(self, unit, uid, capbnd, log=None):
        """systemctl start (Type=notify: it returns once the service is
        ready); then the main process must run as uid with no capability
        left but the bounding set capbnd (hex, as /proc shows it), under
        NoNewPrivileges and a seccomp filter."""
        r = self.ctl("start", unit, check=False)
        assert r.returncode == 0, self.why(unit, log)
        props = self.show(unit, "ActiveState", "SubState", "StatusText",
                          "MainPID")
        assert (props["ActiveState"], props["SubState"],
                props["StatusText"]) == ("active", "running", "serving"), \
            self.why(unit, log)
        st = {k: v.split() for k, v in
              self.proc_status(props["MainPID"]).items()}
        assert st["Uid"] == [str(uid)] * 4, self.why(unit, log)
        assert (st["CapEff"], st["CapPrm"], st["CapBnd"], st["NoNewPrivs"],
                st["Seccomp"]) == (["0" * 16], ["0" * 16], [capbnd], ["1"],
                                   ["2"]), st

    def stop_service(self, unit, log=None):
        """systemctl stop; the service must end with exit status 0."""
        r = self.ctl("stop", unit, check=False)
        assert r.returncode == 0, self.why(unit, log)
        props = self.show(unit, "ActiveState", "Result", "ExecMainStatus")
        assert props == {"ActiveState": "inactive", "Result": "success",
                         "ExecMainStatus": "0"}, self.why(unit, log)

    def stop(self):
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            self.proc.stdout.close()
        # The cgroups systemd made, deepest first, once they are empty.
        deadline = time.monotonic() + 10
        for d in sorted(cgroup_dirs() - self.before,
                        key=len, reverse=True):
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
