"""What the benchmarks in tests/bench share: the processes they start
(stopped by PID), loopback ports, Redis commands, and readings of /proc
(memory, CPU time of a process and of the whole host) with the check
that flags a run other processes disturbed."""
import os
import re
import resource
import signal
import socket
import subprocess
import threading
import time


class BenchError(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=10.0):
    """Wait until a server answers on 127.0.0.1:port, or on the unix
    socket `port` when it is a path; proc (if not None) must not exit
    meanwhile."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{what} exited with status {proc.returncode}")
        try:
            if isinstance(port, str):
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(0.2)
                    s.connect(port)
            else:
                with socket.create_connection(("127.0.0.1", port), 0.2):
                    pass
            return
        except OSError:
            time.sleep(0.05)
    where = port if isinstance(port, str) else f"127.0.0.1:{port}"
    raise BenchError(f"{what} is not listening on {where}")


class Procs:
    """Every process the bench starts, stopped by PID in reverse order."""

    def __init__(self):
        self.procs = []

    def start(self, what, argv, logpath):
        log = open(logpath, "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT)
        log.close()
        self.procs.append((what, p))
        return p

    def adopt(self, what, p):
        """Count a process started elsewhere among them."""
        self.procs.append((what, p))
        return p

    def check(self):
        for what, p in self.procs:
            if p.poll() is not None:
                raise BenchError(f"{what} (pid {p.pid}) died with status "
                                 f"{p.returncode}")

    def stop(self, proc):
        """Stop one process (by its PID) and forget it."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.procs = [(w, p) for w, p in self.procs if p is not proc]

    def stop_all(self):
        # libmilter takes a few seconds to stop: signal every process
        # first, then wait for each.
        for what, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for what, p in reversed(self.procs):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        self.procs = []


def redis_cli(where, *args):
    """redis-cli against 127.0.0.1:where, or the unix socket `where` when
    it is a path; its output, stripped."""
    at = ["-s", where] if isinstance(where, str) else \
        ["-h", "127.0.0.1", "-p", str(where)]
    r = subprocess.run(["redis-cli", *at, *args], capture_output=True,
                       text=True, timeout=10)
    if r.returncode != 0:
        raise BenchError(f"redis-cli {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout.strip()


def message_text(size, domain, name):
    """A plain text message of about `size` bytes from sender@domain, CRLF
    line ends; `name` goes in its Subject and Message-ID."""
    head = (f"From: Bench Sender <sender@{domain}>\r\n"
            f"To: <rcpt@dest.example>\r\n"
            f"Subject: {name} bench message\r\n"
            f"Date: Mon, 06 May 2024 09:30:00 +0000\r\n"
            f"Message-ID: <{name.lower()}-bench.1@{domain}>\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=us-ascii\r\n"
            f"\r\n")
    words = ("the weekly summary of the relay with its delivery and "
             "bounce figures for the account as promised before friday "
             "please reply with notes on the schedule").split()
    lines, line, n, i = [], "", len(head), 0
    while n < size:
        w = words[i % len(words)]
        i += 1
        if len(line) + 1 + len(w) > 72:
            lines.append(line + "\r\n")
            n += len(line) + 2
            line = ""
        line = f"{line} {w}" if line else w
    return (head + "".join(lines)).encode()


def signed_message(key, selector, size, domain, name):
    """message_text() signed by dkimpy (relaxed/relaxed) with key (a
    dkimcheck key) as domain's `selector`, about `size` bytes with its
    DKIM-Signature field."""
    import dkim

    def sign(msg):
        return dkim.sign(msg, selector.encode(), domain.encode(), key.pem(),
                         canonicalize=(b"relaxed", b"relaxed"))
    msg = message_text(size - len(sign(message_text(size, domain, name))),
                       domain, name)
    return sign(msg) + msg


def proc_status(pid):
    """(VmRSS, VmHWM) in kB, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except OSError:
        return None
    got = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.M))
    return int(got.get("VmRSS", 0)), int(got.get("VmHWM", 0))


def host_busy_seconds():
    """CPU time the whole host has spent busy so far (all CPUs), seconds."""
    with open("/proc/stat") as f:
        t = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return (t[0] + t[1] + t[2] + t[5] + t[6] + t[7]) / \
        os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU time a process has used so far, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    """Largest VmRSS of a process, sampled every 100 ms while it runs."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.max_rss = 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            s = proc_status(self.pid)
            if s is not None:
                self.max_rss = max(self.max_rss, s[0])
            self.halt.wait(0.1)

    def stop(self):
        self.halt.set()
        self.join()


NOISY = []


def noise_check(label, t0, host0, ru0, servers_cpu):
    """Note a run during which other processes used a noticeable share of
    the CPUs: its figures say little about sesgate."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = servers_cpu + (ru.ru_utime - ru0.ru_utime) + \
        (ru.ru_stime - ru0.ru_stime)
    other = host_busy_seconds() - host0 - ours
    share = other / max(time.monotonic() - t0, 0.001)
    if share > 0.15:
        NOISY.append(f"{label}: other processes used {share:.0%} of a CPU")
