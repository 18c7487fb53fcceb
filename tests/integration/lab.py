"""The pieces the integration tests and the demo run: a private
redis-server, the sesgate programs as built in $SESGATE_BUILD, a
sesgate.conf writer and a policy protocol client.

Every server started here listens on 127.0.0.1 or a unix socket in a
temporary directory, and every process is stopped by its PID.
"""
import os
import signal
import socket
import subprocess
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("SESGATE_BUILD", os.path.join(TOP, "build"))
POLICYD = os.path.join(BUILD, "sesgate-policyd")
MILTER = os.path.join(BUILD, "sesgate-milter")
SESGATECTL = os.path.join(BUILD, "sesgatectl")


# The tests run as root and start the daemons as root: they stay root
# (allow_root), so that they can read what the tests write; the tests of
# dropping privileges name a user of their own.
TEST_GLOBAL = {"log_level": "debug", "user": "root", "allow_root": "yes"}


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, host="127.0.0.1", timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} "
                               f"before listening on {port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout}s")


def stop_pid(proc, sig=signal.SIGTERM, timeout=10.0):
    """Stop a process we started, by its PID; kill it if it hangs."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def wait_for(cond, timeout=10.0, step=0.05):
    """True once cond() is; after timeout seconds, what cond() says
    then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())


def rss_kb(pid):
    """The resident set size of a process, in kB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def under_asan(pid):
    """True when the process runs with AddressSanitizer, whose quarantine
    keeps freed memory on purpose (so RSS says nothing of leaks)."""
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


class RedisServer:
    """A private redis-server on a loopback port, data in tmpdir."""

    def __init__(self, tmpdir, port=None, extra=()):
        self.dir = str(tmpdir)
        self.port = port or free_port()
        self.extra = list(extra)
        self.proc = None
        self.start()

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--save", "", "--appendonly", "no",
             "--protected-mode", "no", "--daemonize", "no",
             "--logfile", os.path.join(self.dir, f"redis-{self.port}.log")]
            + self.extra,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, proc=self.proc)

    def stop(self):
        stop_pid(self.proc)

    def cli(self, *args):
        """redis-cli against this server; returns stdout stripped."""
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p",
                              str(self.port), "--no-raw"] + list(args),
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def client(self, db=0):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port, db=db,
                           decode_responses=True)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


def write_conf(path, sections):
    """Write a sesgate.conf from {section: {key: value}}; a list value is
    written as one line per item (dkim_key); returns path."""
    lines = []
    for sec, kv in sections.items():
        lines.append(f"[{sec}]")
        for k, v in kv.items():
            for item in (v if isinstance(v, list) else [v]):
                lines.append(f"{k} = {item}")
        lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return str(path)


class Daemon:
    """A sesgate daemon run in the foreground by its `prog`, with its
    configuration in self.conf, logging to self.log, listening on
    self.port; stopped by PID."""

    prog = None

    def start(self):
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen([self.prog, "-f", "-c", self.conf],
                                     stdout=self.logf, stderr=self.logf)
        wait_port(self.port, proc=self.proc)

    def stop(self, sig=signal.SIGTERM):
        stop_pid(self.proc, sig)
        self.logf.close()

    def logtext(self):
        with open(self.log) as f:
            return f.read()


class PolicyD(Daemon):
    """sesgate-policyd in the foreground (logs to a file), on a loopback
    port and optionally a unix socket."""

    prog = POLICYD

    def __init__(self, tmpdir, redis_url, policyd=None, redis=None,
                 glob=None, port=None):
        self.dir = str(tmpdir)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.socket = os.path.join(self.dir, "policyd.sock")
        self.log = os.path.join(self.dir, f"policyd-{self.port}.log")
        pol = {"listen": f"inet:127.0.0.1:{self.port}, unix:{self.socket}"}
        pol.update(policyd or {})
        red = {"url": redis_url}
        red.update(redis or {})
        self.conf = write_conf(os.path.join(self.dir, f"sesgate-{self.port}.conf"),
                               {"global": dict(TEST_GLOBAL,
                                               **(glob or {})),
                                "redis": red, "policyd": pol})
        self.proc = None
        self.start()


    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return PolicyClient(s)


class PolicyClient:
    """Speaks the Postfix policy delegation protocol to a server."""

    def __init__(self, sock):
        self.sock = sock
        self.rfile = sock.makefile("rb")

    def ask(self, **attrs):
        req = {"request": "smtpd_access_policy", "protocol_state": "RCPT",
               "protocol_name": "ESMTP", "client_address": "127.0.0.1",
               "client_name": "localhost", "instance": "",
               "sender": "", "recipient": "", "sasl_username": ""}
        req.update(attrs)
        data = "".join(f"{k}={v}\n" for k, v in req.items()) + "\n"
        self.sock.sendall(data.encode())
        return self.read_reply()

    def read_reply(self):
        line = self.rfile.readline().decode()
        blank = self.rfile.readline().decode()
        assert blank == "\n", f"reply not ended by an empty line: {blank!r}"
        assert line.startswith("action="), f"bad reply line {line!r}"
        return line[len("action="):].rstrip("\n")

    def close(self):
        self.rfile.close()
        self.sock.close()


def window_buckets(window_ms):
    """Bucket length and count of a quota window, as schema_window()."""
    bucket = max(1000, (window_ms + 1439) // 1440)
    return bucket, max(1, (window_ms + bucket - 1) // bucket)


def usage(client, level, ident=None, window_ms=86400000, prefix="sesgate:"):
    """Recipients counted in the rolling window of one level, read with
    the decision script's own "usage" operation, as sesgatectl reads it."""
    tail = level if level == "account" else f"{level}:{ident}"
    bucket, n = window_buckets(window_ms)
    with open(os.path.join(TOP, "lib", "sesgate.lua")) as f:
        script = f.read()
    count, _tat = client.eval(script, 2, f"{prefix}limits:{tail}",
                              f"{prefix}usage:{tail}", "usage", bucket, n)
    return int(count)


class MilterD(Daemon):
    """sesgate-milter logging to a file, on a loopback port
    (inet:PORT@127.0.0.1). milter={key: value} is the [milter] section
    (a list value repeats the key, as dkim_key lines)."""

    prog = MILTER

    def __init__(self, tmpdir, redis_url, milter=None, redis=None, glob=None,
                 port=None, unix=None):
        self.dir = str(tmpdir)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.unix = unix
        self.spec = f"unix:{unix}" if unix else f"inet:{self.port}@127.0.0.1"
        self.log = os.path.join(self.dir, f"milter-{self.port}.log")
        self.conf = os.path.join(self.dir, f"sesgate-{self.port}.conf")
        self.sections = {"global": dict(TEST_GLOBAL,
                                        **(glob or {})),
                         "redis": dict({"url": redis_url}, **(redis or {})),
                         "milter": dict({"listen": self.spec},
                                        **(milter or {}))}
        write_conf(self.conf, self.sections)
        self.proc = None
        self.start()

    def start(self):
        if self.unix is None:
            return super().start()
        self.logf = open(self.log, "a")
        self.proc = subprocess.Popen([self.prog, "-f", "-c", self.conf],
                                     stdout=self.logf, stderr=self.logf)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(self.unix)
                return
            except OSError:
                if self.proc.poll() is not None or \
                        time.monotonic() > deadline:
                    raise RuntimeError(f"nothing listens on {self.unix}")
                time.sleep(0.05)

    def rewrite(self, **milter):
        """Change [milter] keys in the file (for a reload)."""
        self.sections["milter"].update(milter)
        write_conf(self.conf, self.sections)

    def reload(self, wait_for="reloaded", timeout=10.0):
        """SIGUSR1, then wait until the log shows `wait_for` once more."""
        before = self.logtext().count(wait_for)
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while self.logtext().count(wait_for) <= before:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {wait_for!r} after SIGUSR1:\n"
                                   + self.logtext())
            time.sleep(0.05)

