"""An authoritative DNS server on 127.0.0.1 serving test zones: Debian's
NSD, run in the foreground as the invoking user (no chroot, no change of
user, nothing read from or written to /etc), with its configuration, zone
files, pid file, log and control socket in a directory of the caller's.

    dns = DnsServer(tmp_path / "dns")
    dns.add_zone("example.com", [("sel._domainkey", "TXT", "v=DKIM1; ...")])
    dns.start()
    dns.replace_records("example.com", "sel._domainkey", "TXT", [])
    ...
    dns.stop()

Zones can be added, replaced and removed while the server runs (through
nsd-control on a unix socket); every change bumps the zone's SOA serial and
returns only once the server answers with that serial, so the next query
sees the new data. The server answers on one port over UDP and TCP, as a
DKIM verifier or a stub resolver would ask it.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

import lab

NSD = "nsd"
NSD_CONTROL = "nsd-control"
DEFAULT_TTL = 60
# One TXT character-string holds at most 255 bytes (RFC 1035 section
# 3.3.14); longer values, such as RSA DKIM keys, are split into several
# strings, which a DKIM verifier joins (RFC 6376 section 3.6.2.2).
TXT_STRING_MAX = 255
# sockaddr_un.sun_path is 108 bytes on Linux, NUL included.
UNIX_PATH_MAX = 107


def free_udp_tcp_port():
    """A port on 127.0.0.1 that nothing uses right now over TCP or UDP."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free over both TCP and UDP")


def _absolute(origin):
    return origin.rstrip(".").lower()


def owner_name(origin, name):
    """The fully qualified owner (with its final dot) of record `name` in
    zone `origin`. "@" or "" is the apex; a name ending with "." is
    absolute; a name equal to the origin or ending with "." + origin is
    taken as already qualified (so "sel._domainkey.example.com" works as
    well as "sel._domainkey"); any other name is relative to the origin."""
    origin = _absolute(origin)
    if name in ("", "@"):
        return origin + "."
    if name.endswith("."):
        return name
    low = name.lower()
    if low == origin or low.endswith("." + origin):
        return name + "."
    return f"{name}.{origin}."


def txt_strings(value):
    """The character-strings of a TXT value: a list or tuple is taken as
    the strings themselves; a str or bytes is split every 255 bytes."""
    if isinstance(value, (list, tuple)):
        return [v.encode() if isinstance(v, str) else bytes(v)
                for v in value]
    data = value.encode() if isinstance(value, str) else bytes(value)
    if not data:
        return [b""]
    return [data[i:i + TXT_STRING_MAX]
            for i in range(0, len(data), TXT_STRING_MAX)]


def _quote(string):
    """One zone-file character-string (RFC 1035 section 5.1): quoted, with
    quote and backslash escaped and bytes outside printable ASCII as
    \\DDD."""
    out = []
    for b in string:
        if b in (0x22, 0x5C):
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'


def rdata_text(rtype, value):
    """The zone-file form of one record's data: TXT (and SPF) values as
    quoted character-strings, anything else verbatim."""
    if rtype.upper() in ("TXT", "SPF"):
        return " ".join(_quote(s) for s in txt_strings(value))
    return str(value)


class Zone:
    """The records of one zone, as (name, type, value, ttl) tuples, and its
    SOA serial."""

    def __init__(self, origin, records=()):
        self.origin = _absolute(origin)
        self.serial = 1
        self.records = []
        self.add(records)

    def add(self, records):
        for rec in records:
            if len(rec) == 3:
                name, rtype, value = rec
                ttl = DEFAULT_TTL
            else:
                name, rtype, value, ttl = rec
            self.records.append((owner_name(self.origin, name),
                                 rtype.upper(), value, int(ttl)))

    def text(self):
        """The zone file: an SOA and an NS record unless the records have
        their own, then the records in the order given."""
        apex = self.origin + "."
        types = {(n.lower(), t) for n, t, _, _ in self.records}
        lines = [f"$ORIGIN {apex}", f"$TTL {DEFAULT_TTL}"]
        if (apex, "SOA") not in types:
            lines.append(f"{apex} {DEFAULT_TTL} IN SOA localhost. "
                         f"hostmaster.{apex} {self.serial} 3600 600 "
                         f"86400 {DEFAULT_TTL}")
        if (apex, "NS") not in types:
            lines.append(f"{apex} {DEFAULT_TTL} IN NS localhost.")
        for name, rtype, value, ttl in self.records:
            lines.append(f"{name} {ttl} IN {rtype} "
                         f"{rdata_text(rtype, value)}")
        return "\n".join(lines) + "\n"


class DnsServer:
    """NSD on 127.0.0.1:port (UDP and TCP), answering authoritatively for
    the zones added; files in tmpdir. start() returns once it answers;
    stop() ends it by its PID."""

    def __init__(self, tmpdir, port=None, timeout=5.0):
        self.dir = os.path.abspath(str(tmpdir))
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_udp_tcp_port()
        self.timeout = timeout
        self.zones = {}
        self.proc = None
        self.logf = None
        self.conf = os.path.join(self.dir, "nsd.conf")
        self.log = os.path.join(self.dir, "nsd.log")
        self.control = os.path.join(self.dir, "control.sock")
        self._sockdir = None
        if len(self.control) > UNIX_PATH_MAX:
            self._sockdir = tempfile.mkdtemp(prefix="nsd-")
            self.control = os.path.join(self._sockdir, "control.sock")

    def nameserver(self):
        """(address, port) to send queries to."""
        return ("127.0.0.1", self.port)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _zonefile(self, origin):
        return os.path.join(self.dir, f"{origin}.zone")

    def _write_zone(self, zone):
        # Written aside and renamed, so NSD never reads half a file.
        path = self._zonefile(zone.origin)
        with open(path + ".tmp", "w") as f:
            f.write(zone.text())
        os.replace(path + ".tmp", path)

    def _write_conf(self):
        d = self.dir
        lines = [
            "server:",
            f"\tip-address: 127.0.0.1@{self.port}",
            "\tdo-ip6: no",
            "\tserver-count: 1",
            '\tusername: ""',
            '\tchroot: ""',
            f'\tzonesdir: "{d}"',
            '\tdatabase: ""',
            f'\tzonelistfile: "{d}/zone.list"',
            f'\tpidfile: "{d}/nsd.pid"',
            '\txfrdfile: ""',
            f'\txfrdir: "{d}"',
            f'\tlogfile: "{self.log}"',
            "\tzonefiles-write: 0",
            "\tverbosity: 2",
            # Tests ask the same names many times a second.
            "\trrl-ratelimit: 0",
            "",
            "remote-control:",
            "\tcontrol-enable: yes",
            f'\tcontrol-interface: "{self.control}"',
            "",
            # Zones added at run time take their file name from this.
            "pattern:",
            "\tname: sesgate-test",
            '\tzonefile: "%s.zone"',
            "",
        ]
        for origin in self.zones:
            lines += ["zone:", f"\tname: {origin}",
                      f'\tzonefile: "{origin}.zone"', ""]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines))

    def _nsd_control(self, *args):
        out = subprocess.run([NSD_CONTROL, "-c", self.conf] + list(args),
                             capture_output=True, text=True,
                             timeout=self.timeout)
        if out.returncode != 0 or out.stdout.startswith("error"):
            raise RuntimeError(f"nsd-control {' '.join(args)}: "
                               f"{out.stdout.strip()} {out.stderr.strip()}")
        return out.stdout

    def start(self):
        """Start NSD with the zones added so far; returns once it answers
        on its port, and once every zone is served."""
        for zone in self.zones.values():
            self._write_zone(zone)
        # A zone list left by an earlier run would add zones twice.
        zonelist = os.path.join(self.dir, "zone.list")
        if os.path.exists(zonelist):
            os.unlink(zonelist)
        self._write_conf()
        self.logf = open(self.log, "a")
        # A session of its own: NSD forks a server parent and children
        # (and a new server parent at each reload), and stop() waits for
        # every member of that session, not just the first process.
        self.proc = subprocess.Popen([NSD, "-d", "-c", self.conf],
                                     stdout=self.logf, stderr=self.logf,
                                     start_new_session=True)
        deadline = time.monotonic() + self.timeout
        while True:
            if self.proc.poll() is not None:
                self.logf.close()
                raise RuntimeError(f"nsd exited with {self.proc.returncode}"
                                   f"; see {self.log}")
            if self._answers():
                break
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nsd does not answer on port "
                                   f"{self.port} after {self.timeout}s")
            time.sleep(0.02)
        for zone in self.zones.values():
            self._wait_serial(zone)
        return self

    def _session_pids(self):
        """PIDs of the live processes in NSD's session."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] != "Z" and int(fields[3]) == self.proc.pid:
                pids.append(int(entry))
        return pids

    def stop(self):
        """Stop NSD by its PID and wait until the processes it forked are
        gone too (any still there after the timeout are killed by PID), so
        that the port is free when this returns."""
        if self.proc is not None and self.proc.poll() is None:
            lab.stop_pid(self.proc)
            deadline = time.monotonic() + self.timeout
            while self._session_pids():
                if time.monotonic() > deadline:
                    for pid in self._session_pids():
                        os.kill(pid, signal.SIGKILL)
                    break
                time.sleep(0.01)
        if self.logf is not None:
            self.logf.close()
            self.logf = None
        if self._sockdir is not None:
            shutil.rmtree(self._sockdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _answers(self):
        """True once a query gets any answer (REFUSED included)."""
        q = dns.message.make_query(".", "SOA")
        try:
            dns.query.udp(q, "127.0.0.1", port=self.port, timeout=0.2)
            return True
        except (dns.exception.Timeout, OSError):
            return False

    def soa_serial(self, origin):
        """The SOA serial the server answers for zone `origin`, or None
        when it does not serve it (yet)."""
        q = dns.message.make_query(_absolute(origin) + ".", "SOA")
        try:
            r = dns.query.udp(q, "127.0.0.1", port=self.port, timeout=0.5)
        except (dns.exception.Timeout, OSError):
            return None
        if r.rcode() != dns.rcode.NOERROR or not r.flags & dns.flags.AA:
            return None
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.SOA:
                return rrset[0].serial
        return None

    def _wait_serial(self, zone):
        deadline = time.monotonic() + self.timeout
        while self.soa_serial(zone.origin) != zone.serial:
            if not self.running:
                raise RuntimeError(f"nsd exited; see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"zone {zone.origin} serial "
                                   f"{zone.serial} not served after "
                                   f"{self.timeout}s; see {self.log}")
            time.sleep(0.01)

    def _reload(self, zone):
        zone.serial += 1
        self._write_zone(zone)
        if self.running:
            # With a zone name, nsd-control reloads it whatever the file's
            # mtime says; two changes in one second are both seen.
            self._nsd_control("reload", zone.origin)
            self._wait_serial(zone)

    def add_zone(self, origin, records=()):
        """Serve zone `origin` with `records`, (name, type, value[, ttl])
        tuples (see owner_name() and txt_strings()). Served at once when
        the server runs, else from start()."""
        zone = Zone(origin, records)
        if zone.origin in self.zones:
            raise ValueError(f"zone {zone.origin} already added")
        self.zones[zone.origin] = zone
        self._write_zone(zone)
        if self.running:
            self._nsd_control("addzone", zone.origin, "sesgate-test")
            self._wait_serial(zone)
        return zone

    def remove_zone(self, origin):
        """Stop serving zone `origin`; returns once queries for it are
        refused."""
        origin = _absolute(origin)
        del self.zones[origin]
        if self.running:
            self._nsd_control("delzone", origin)
            # An answer that refuses, not a query that timed out (a busy
            # machine), says the zone is gone.
            q = dns.message.make_query(origin + ".", "SOA")
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    r = dns.query.udp(q, "127.0.0.1", port=self.port,
                                      timeout=0.5)
                    if r.rcode() == dns.rcode.REFUSED:
                        return
                except (dns.exception.Timeout, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"zone {origin} still served")
                time.sleep(0.01)

    def set_records(self, origin, records):
        """Replace every record of zone `origin` by `records`."""
        zone = self.zones[_absolute(origin)]
        zone.records = []
        zone.add(records)
        self._reload(zone)

    def add_records(self, origin, records):
        """Add `records` to zone `origin`."""
        zone = self.zones[_absolute(origin)]
        zone.add(records)
        self._reload(zone)

    def replace_records(self, origin, name, rtype, values, ttl=DEFAULT_TTL):
        """Make `values` the whole record set of `name`/`rtype` in zone
        `origin`: an empty list deletes it."""
        zone = self.zones[_absolute(origin)]
        owner = owner_name(zone.origin, name).lower()
        rtype = rtype.upper()
        zone.records = [r for r in zone.records
                        if not (r[0].lower() == owner and r[1] == rtype)]
        zone.add((name, rtype, v, ttl) for v in values)
        self._reload(zone)

    def resolver(self, lifetime=3.0):
        """A dnspython stub resolver asking only this server."""
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = ["127.0.0.1"]
        res.port = self.port
        res.lifetime = lifetime
        res.timeout = lifetime
        return res

    def query(self, name, rtype, tcp=False, timeout=2.0):
        """The response (a dns.message.Message) of one query for `name`
        and `rtype`, over TCP, or over UDP with EDNS (RFC 6891) and a
        4096-byte buffer so that DKIM keys fit, retried over TCP when the
        answer is truncated anyway."""
        q = dns.message.make_query(name, rtype, use_edns=0, payload=4096)
        if not tcp:
            r = dns.query.udp(q, "127.0.0.1", port=self.port,
                              timeout=timeout)
            if not r.flags & dns.flags.TC:
                return r
        return dns.query.tcp(q, "127.0.0.1", port=self.port,
                             timeout=timeout)

    def txt(self, name, tcp=False):
        """The TXT records of `name`, each as its list of character-strings
        (bytes); [] when there are none."""
        r = self.query(name, "TXT", tcp=tcp)
        return [list(rd.strings) for rrset in r.answer
                if rrset.rdtype == dns.rdatatype.TXT for rd in rrset]
