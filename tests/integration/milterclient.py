"""The MTA side of the milter protocol (version 6, as spoken by Sendmail's
libmilter and Postfix), independent of any MTA, to play SMTP transactions
against a milter listening on unix:/path or inet:port@127.0.0.1.

    with MilterClient("unix:/tmp/x/milter.sock") as m:
        print(m.negotiation.actions, m.negotiation.steps)
        m.connect("client.example", "4", "192.0.2.7", 40000)
        m.helo("client.example")
        result = m.send_message("a@example.com", ["b@example.net"], raw)
    delivered = apply_edits(raw, result)

Every packet is a 4-byte length in network order (the command byte
included), a command byte and its data (libmilter's mfdef.h). Each
command that expects an answer returns a Reply; end of body also
collects the modifications the milter sent before its answer. Every read
has a timeout: a milter that does not answer raises MilterTimeout, one
that closes raises MilterClosed; nothing hangs.
"""
import socket
import struct

# Commands, MTA to milter (mfdef.h SMFIC_*).
ABORT = b"A"
BODY = b"B"
CONNECT = b"C"
MACRO = b"D"
BODYEOB = b"E"
HELO = b"H"
QUIT_NC = b"K"
HEADER = b"L"
MAIL = b"M"
EOH = b"N"
OPTNEG = b"O"
QUIT = b"Q"
RCPT = b"R"
DATA = b"T"
UNKNOWN = b"U"

# Replies, milter to MTA (SMFIR_*). The final answers to a command:
FINAL = {b"a": "accept", b"c": "continue", b"d": "discard",
         b"r": "reject", b"t": "tempfail", b"y": "replycode",
         b"s": "skip", b"f": "conn_fail", b"4": "shutdown"}
# ... and what may come before the final answer to end of body:
ADDRCPT = b"+"
DELRCPT = b"-"
ADDRCPT_PAR = b"2"
REPLBODY = b"b"
CHGFROM = b"e"
ADDHEADER = b"h"
INSHEADER = b"i"
CHGHEADER = b"m"
PROGRESS = b"p"
QUARANTINE = b"q"

# Actions the milter may ask for (SMFIF_*).
ACTIONS = {"ADDHDRS": 0x01, "CHGBODY": 0x02, "ADDRCPT": 0x04,
           "DELRCPT": 0x08, "CHGHDRS": 0x10, "QUARANTINE": 0x20,
           "CHGFROM": 0x40, "ADDRCPT_PAR": 0x80, "SETSYMLIST": 0x100}
ALL_ACTIONS = 0x1FF
# The action each modification needs (smfi_insheader() is ADDHDRS).
NEEDS = {ADDHEADER: "ADDHDRS", INSHEADER: "ADDHDRS", CHGHEADER: "CHGHDRS",
         CHGFROM: "CHGFROM", ADDRCPT: "ADDRCPT", ADDRCPT_PAR: "ADDRCPT_PAR",
         DELRCPT: "DELRCPT", REPLBODY: "CHGBODY", QUARANTINE: "QUARANTINE"}

# Protocol steps (SMFIP_*): stages the milter may skip, stages it will
# not answer (NR_*), and protocol features.
STEPS = {"NOCONNECT": 0x01, "NOHELO": 0x02, "NOMAIL": 0x04,
         "NORCPT": 0x08, "NOBODY": 0x10, "NOHDRS": 0x20, "NOEOH": 0x40,
         "NR_HDR": 0x80, "NOUNKNOWN": 0x100, "NODATA": 0x200,
         "SKIP": 0x400, "RCPT_REJ": 0x800, "NR_CONN": 0x1000,
         "NR_HELO": 0x2000, "NR_MAIL": 0x4000, "NR_RCPT": 0x8000,
         "NR_DATA": 0x10000, "NR_UNKN": 0x20000, "NR_EOH": 0x40000,
         "NR_BODY": 0x80000, "HDR_LEADSPC": 0x100000,
         "MDS_256K": 0x10000000, "MDS_1M": 0x20000000}
# What Postfix offers: every step of SMFI_CURR_PROT, no larger packets.
ALL_STEPS = 0x1FFFFF

# Per command: (stage name, SMFIP_NO* flag, SMFIP_NR_* flag).
STAGE = {CONNECT: ("connect", 0x01, 0x1000), HELO: ("helo", 0x02, 0x2000),
         MAIL: ("mail", 0x04, 0x4000), RCPT: ("rcpt", 0x08, 0x8000),
         DATA: ("data", 0x200, 0x10000), HEADER: ("header", 0x20, 0x80),
         EOH: ("eoh", 0x40, 0x40000), BODY: ("body", 0x10, 0x80000),
         UNKNOWN: ("unknown", 0x100, 0x20000),
         BODYEOB: ("eob", 0, 0)}

# Macro stages of SMFIR_SETSYMLIST (mfapi.h SMFIM_*) and the command
# whose macros each one lists.
MACRO_STAGES = {0: "connect", 1: "helo", 2: "mail", 3: "rcpt",
                4: "data", 5: "eob", 6: "eoh"}

# The macros Postfix sends by default at each stage (postconf
# milter_*_macros), for send_message() and negotiation without lists.
POSTFIX_MACROS = {
    "connect": ("j", "{daemon_name}", "{daemon_addr}", "v", "_",
                "{client_addr}", "{client_name}", "{client_port}",
                "{client_ptr}", "{client_connections}"),
    "helo": ("{tls_version}", "{cipher}", "{cipher_bits}",
             "{cert_subject}", "{cert_issuer}"),
    "mail": ("i", "{auth_type}", "{auth_authen}", "{auth_author}",
             "{mail_addr}", "{mail_host}", "{mail_mailer}"),
    "rcpt": ("i", "{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}"),
    "data": ("i",),
    "eoh": ("i",),
    "eob": ("i",),
    "unknown": (),
}

# Body chunks are at most MILTER_CHUNK_SIZE bytes.
CHUNK = 65535
# Postfix's default milter_protocol.
VERSION = 6


class MilterError(Exception):
    """The milter broke the protocol."""


class MilterTimeout(MilterError):
    """The milter did not answer in time."""


class MilterClosed(MilterError):
    """The milter closed the connection."""


def _u32(data, off):
    return struct.unpack("!I", data[off:off + 4])[0]


def _cstrings(data):
    """The NUL-terminated strings of a packet's data, as str."""
    if data and not data.endswith(b"\0"):
        raise MilterError(f"string not NUL-terminated: {data!r}")
    return [s.decode("utf-8", "surrogateescape")
            for s in data[:-1].split(b"\0")] if data else []


def _enc(text):
    if isinstance(text, bytes):
        return text
    return text.encode("utf-8", "surrogateescape")


class Negotiation:
    """What the milter answered to option negotiation: version, the
    actions and protocol steps as bit masks and as sets of names (e.g.
    {"ADDHDRS", "CHGHDRS"}, {"NOHELO", "NR_HDR"}), and macros: the
    macro names it asked for per stage ({"mail": ["{auth_authen}",
    "i"]}), empty when it asked for none."""

    def __init__(self, version, actions, protocol, macros):
        self.version = version
        self.action_mask = actions
        self.protocol_mask = protocol
        self.actions = {n for n, b in ACTIONS.items() if actions & b}
        self.steps = {n for n, b in STEPS.items() if protocol & b}
        self.macros = macros

    def skips(self, cmd):
        """True when the milter asked not to receive command `cmd`."""
        return bool(self.protocol_mask & STAGE[cmd][1])

    def no_reply(self, cmd):
        """True when the milter said it will not answer command `cmd`."""
        return bool(self.protocol_mask & STAGE[cmd][2])

    def __repr__(self):
        return (f"<Negotiation v{self.version} actions={sorted(self.actions)}"
                f" steps={sorted(self.steps)} macros={self.macros}>")


class Reply:
    """The milter's answer to one command. action is "continue",
    "accept", "reject", "tempfail", "discard", "replycode", "skip",
    "conn_fail" or "shutdown"; "noreply" when the command was sent but
    the milter said it would not answer, "skipped" when it was not sent
    because the milter asked not to see that stage. For "replycode",
    text is the whole SMTP reply ("550 5.7.1 Go away"), code its first
    three digits. modifications lists what came before the answer
    (end of body only; see Modification), progress counts SMFIR_PROGRESS
    packets."""

    def __init__(self, stage, action, text=None):
        self.stage = stage
        self.action = action
        self.text = text
        self.code = text[:3] if text else None
        self.modifications = []
        self.progress = 0

    @property
    def verdict(self):
        """action with a reply code folded into "reject" (5xx) or
        "tempfail" (4xx), as the MTA acts on it."""
        if self.action == "replycode":
            return "tempfail" if self.code.startswith("4") else "reject"
        return self.action

    @property
    def passes(self):
        """True when the MTA goes on with the transaction."""
        return self.action in ("continue", "noreply", "skipped", "skip")

    def __repr__(self):
        extra = f" {self.text!r}" if self.text else ""
        return f"<Reply {self.stage}: {self.action}{extra}>"


class Modification:
    """One change requested at end of body. kind and fields:
    "add_header" (name, value), "insert_header" (index, name, value),
    "change_header" (index, name, value), "delete_header" (index, name:
    a change with an empty value), "change_from" (address, args),
    "add_rcpt" (address, args), "del_rcpt" (address), "replace_body"
    (body: the chunk's bytes), "quarantine" (reason)."""

    def __init__(self, kind, **fields):
        self.kind = kind
        self.index = fields.get("index")
        self.name = fields.get("name")
        self.value = fields.get("value")
        self.address = fields.get("address")
        self.args = fields.get("args")
        self.body = fields.get("body")
        self.reason = fields.get("reason")
        self.fields = fields

    def astuple(self):
        """(kind, *fields in the order listed above)."""
        order = {"add_header": ("name", "value"),
                 "insert_header": ("index", "name", "value"),
                 "change_header": ("index", "name", "value"),
                 "delete_header": ("index", "name"),
                 "change_from": ("address", "args"),
                 "add_rcpt": ("address", "args"),
                 "del_rcpt": ("address",),
                 "replace_body": ("body",),
                 "quarantine": ("reason",)}[self.kind]
        return (self.kind,) + tuple(self.fields[k] for k in order)

    def __eq__(self, other):
        if isinstance(other, tuple):
            return self.astuple() == other
        return (isinstance(other, Modification)
                and self.astuple() == other.astuple())

    def __repr__(self):
        return f"<Modification {self.astuple()!r}>"


def parse_modification(cmd, data):
    """The Modification of one SMFIR_ packet of end of body, or None for
    a packet that is not one."""
    if cmd == ADDHEADER:
        name, value = _cstrings(data)
        return Modification("add_header", name=name, value=value)
    if cmd in (INSHEADER, CHGHEADER):
        index = _u32(data, 0)
        name, value = _cstrings(data[4:])
        if cmd == INSHEADER:
            return Modification("insert_header", index=index, name=name,
                                value=value)
        if value == "":
            return Modification("delete_header", index=index, name=name)
        return Modification("change_header", index=index, name=name,
                            value=value)
    if cmd in (CHGFROM, ADDRCPT, ADDRCPT_PAR):
        parts = _cstrings(data)
        kind = "change_from" if cmd == CHGFROM else "add_rcpt"
        args = parts[1] if len(parts) > 1 and parts[1] else None
        return Modification(kind, address=parts[0], args=args)
    if cmd == DELRCPT:
        return Modification("del_rcpt", address=_cstrings(data)[0])
    if cmd == REPLBODY:
        return Modification("replace_body", body=data)
    if cmd == QUARANTINE:
        return Modification("quarantine", reason=_cstrings(data)[0])
    return None


class MilterClient:
    """One connection to a milter, negotiated on creation. `spec` is
    "unix:/path", "local:/path", "inet:port@host" or "inet6:port@host"
    (as in Postfix's smtpd_milters); `timeout` bounds every read and
    write, in seconds. actions and protocol are what the MTA offers
    (everything Postfix offers by default). macros holds default macro
    values per stage ({"connect": {"j": "mta.example"}}), sent with
    each command unless the call gives its own.

    When the milter asked for macro lists, only the macros it listed are
    sent (as Postfix and Sendmail do); otherwise every macro given.
    Replies are also appended to self.replies, in order."""

    def __init__(self, spec, timeout=10.0, actions=ALL_ACTIONS,
                 protocol=ALL_STEPS, version=VERSION, macros=None):
        self.spec = spec
        self.timeout = timeout
        self.offer = (version, actions, protocol)
        self.macros = {k: dict(v) for k, v in (macros or {}).items()}
        self.replies = []
        self.sock = None
        self.negotiation = None
        self.leadspc = False
        self.sock = self._open(spec)
        try:
            self.negotiate()
        except Exception:
            self.close()
            raise

    def _open(self, spec):
        kind, _, where = spec.partition(":")
        if kind in ("unix", "local"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            addr = where
        elif kind in ("inet", "inet6"):
            port, _, host = where.partition("@")
            host = host or ("::1" if kind == "inet6" else "127.0.0.1")
            fam = socket.AF_INET6 if kind == "inet6" else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM)
            addr = (host.strip("[]"), int(port))
        else:
            raise ValueError(f"bad milter address {spec!r}")
        s.settimeout(self.timeout)
        try:
            s.connect(addr)
        except OSError:
            s.close()
            raise
        return s

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the socket without a QUIT (as an MTA that gives up)."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    # Packets.

    def _send(self, cmd, data=b""):
        if self.sock is None:
            raise MilterClosed("connection already closed")
        try:
            self.sock.sendall(struct.pack("!I", len(data) + 1) + cmd + data)
        except socket.timeout:
            raise MilterTimeout(f"sending {cmd!r}: timed out after "
                                f"{self.timeout}s") from None
        except (BrokenPipeError, ConnectionResetError) as e:
            raise MilterClosed(f"sending {cmd!r}: {e}") from None

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            try:
                chunk = self.sock.recv(n - len(data))
            except socket.timeout:
                raise MilterTimeout(f"no answer after {self.timeout}s") \
                    from None
            except ConnectionResetError as e:
                raise MilterClosed(str(e)) from None
            if not chunk:
                raise MilterClosed("milter closed the connection")
            data += chunk
        return data

    def read_packet(self):
        """(command byte, data) of the next packet from the milter."""
        if self.sock is None:
            raise MilterClosed("connection already closed")
        n = _u32(self._recv_exact(4), 0)
        if n == 0 or n > 64 * 1024 * 1024:
            raise MilterError(f"bad packet length {n}")
        pkt = self._recv_exact(n)
        return pkt[:1], pkt[1:]

    def _reply(self, stage, allow_mods=False):
        """Read packets up to the final answer to one command."""
        mods, progress = [], 0
        while True:
            cmd, data = self.read_packet()
            if cmd == PROGRESS:
                progress += 1
                continue
            if cmd in FINAL:
                text = None
                if cmd == b"y":
                    text = _cstrings(data)[0]
                r = Reply(stage, FINAL[cmd], text)
                r.modifications = mods
                r.progress = progress
                self.replies.append(r)
                return r
            mod = parse_modification(cmd, data)
            if mod is None:
                raise MilterError(f"{stage}: unexpected packet {cmd!r} "
                                  f"{data!r}")
            if not allow_mods:
                raise MilterError(f"{stage}: modification {mod} before "
                                  f"end of body")
            # An MTA refuses a change the milter did not negotiate.
            need = NEEDS[cmd]
            if need not in self.negotiation.actions:
                raise MilterError(f"{stage}: {mod} without the {need} "
                                  f"action negotiated")
            mods.append(mod)

    # Option negotiation.

    def negotiate(self):
        """Send SMFIC_OPTNEG with what this MTA offers; returns (and
        keeps in self.negotiation) the milter's Negotiation."""
        self._send(OPTNEG, struct.pack("!III", *self.offer))
        cmd, data = self.read_packet()
        if cmd != OPTNEG or len(data) < 12:
            raise MilterError(f"bad negotiation answer {cmd!r} {data!r}")
        version, actions, protocol = struct.unpack("!III", data[:12])
        macros, off = {}, 12
        # Then any number of (uint32 stage, NUL-terminated list).
        while off < len(data):
            where = _u32(data, off)
            end = data.index(b"\0", off + 4)
            names = data[off + 4:end].decode().replace(",", " ").split()
            macros[MACRO_STAGES.get(where, str(where))] = names
            off = end + 1
        if protocol & ~self.offer[2]:
            raise MilterError(f"milter asked for steps {protocol:#x} "
                              f"beyond the offer {self.offer[2]:#x}")
        self.negotiation = Negotiation(version, actions, protocol, macros)
        self.leadspc = bool(protocol & STEPS["HDR_LEADSPC"])
        return self.negotiation

    # Commands.

    def send_macros(self, cmd, macros=None):
        """Send SMFIC_MACRO for command `cmd`: the defaults of its stage
        updated by `macros` ({name: value}), limited to the milter's list
        for the stage when it gave one. Nothing is sent when none
        remain."""
        stage = STAGE[cmd][0]
        values = dict(self.macros.get(stage, {}))
        values.update(macros or {})
        wanted = self.negotiation.macros.get(stage)
        if wanted is not None:
            keep = {w.strip("{}") for w in wanted}
            values = {k: v for k, v in values.items()
                      if k.strip("{}") in keep}
        if not values:
            return
        data = cmd + b"".join(_enc(k) + b"\0" + _enc(v) + b"\0"
                              for k, v in values.items())
        self._send(MACRO, data)

    def command(self, cmd, data=b"", macros=None):
        """Send one command (and its macros first); returns its Reply,
        a "skipped" one when the milter asked not to see the stage, a
        "noreply" one when it said it would not answer."""
        stage = STAGE[cmd][0]
        if self.negotiation.skips(cmd):
            r = Reply(stage, "skipped")
            self.replies.append(r)
            return r
        self.send_macros(cmd, macros)
        self._send(cmd, data)
        if self.negotiation.no_reply(cmd):
            r = Reply(stage, "noreply")
            self.replies.append(r)
            return r
        return self._reply(stage, allow_mods=cmd == BODYEOB)

    def connect(self, hostname, family="4", address="127.0.0.1", port=0,
                macros=None):
        """SMFIC_CONNECT: client `hostname`, family "4", "6", "L" (unix;
        `address` is then the socket path) or "U" (unknown: no address
        sent), client `address` and `port`."""
        data = _enc(hostname) + b"\0" + _enc(family)
        if family != "U":
            data += struct.pack("!H", port) + _enc(address) + b"\0"
        return self.command(CONNECT, data, macros)

    def helo(self, name, macros=None):
        return self.command(HELO, _enc(name) + b"\0", macros)

    @staticmethod
    def _path(addr, args):
        # The address goes in angle brackets, as the MTA received it,
        # then each ESMTP parameter as a string of its own.
        addr = addr if addr.startswith("<") else f"<{addr}>"
        return b"".join(_enc(a) + b"\0" for a in [addr] + list(args))

    def mail(self, sender, args=(), macros=None):
        """SMFIC_MAIL for `sender` ("" for the null sender <>), with ESMTP
        args such as ("SIZE=1000", "BODY=8BITMIME")."""
        return self.command(MAIL, self._path(sender, args), macros)

    def rcpt(self, recipient, args=(), macros=None):
        return self.command(RCPT, self._path(recipient, args), macros)

    def data(self, macros=None):
        return self.command(DATA, b"", macros)

    def unknown(self, line):
        """SMFIC_UNKNOWN: an SMTP command the MTA did not recognise."""
        return self.command(UNKNOWN, _enc(line) + b"\0")

    def header(self, name, value):
        """SMFIC_HEADER. `value` as the MTA passes it: folded lines joined
        by "\\n" plus the whitespace that starts the next line; the space
        after the colon is left out unless the milter negotiated
        HDR_LEADSPC (see message_headers())."""
        return self.command(HEADER, _enc(name) + b"\0" + _enc(value) +
                            b"\0")

    def eoh(self, macros=None):
        return self.command(EOH, b"", macros)

    def body(self, data):
        """SMFIC_BODY, split into chunks of at most 65535 bytes. Stops at
        the first answer other than continue (SMFIR_SKIP included: the
        milter wants no more body); returns the last Reply. An empty body
        sends no chunk (a "skipped" Reply)."""
        if not data:
            r = Reply("body", "skipped")
            self.replies.append(r)
            return r
        r = None
        for off in range(0, len(data), CHUNK):
            r = self.command(BODY, data[off:off + CHUNK])
            if not r.passes or r.action == "skip":
                break
        return r

    def eob(self, macros=None):
        """SMFIC_BODYEOB; the Reply carries the modifications."""
        return self.command(BODYEOB, b"", macros)

    def abort(self):
        """SMFIC_ABORT: end the message (no answer expected)."""
        self._send(ABORT)

    def quit(self):
        """SMFIC_QUIT and close."""
        try:
            self._send(QUIT)
        finally:
            self.close()

    def quit_nc(self):
        """SMFIC_QUIT_NC: end this SMTP connection and start another on
        the same milter connection (the next command is connect)."""
        self._send(QUIT_NC)

    # A whole message.

    def send_message(self, sender, recipients, message, mail_args=(),
                     macros=None):
        """Play MAIL, RCPT..., DATA, the headers, end of headers, the
        body and end of body for `message` (raw bytes, CRLF or bare LF)
        on a connection past connect and helo, and decide as an MTA:
        a recipient refused is dropped, the message ends at the first
        refusal, accept or discard. `macros` is {stage: {name: value}}.
        Returns a Result; after a message-level refusal SMFIC_ABORT is
        sent so the connection can carry the next message."""
        macros = macros or {}
        recipients = list(recipients)
        res = Result()
        res.negotiation = self.negotiation
        r = self.mail(sender, mail_args, macros.get("mail"))
        res.mail = r
        if not r.passes:
            return res._end(self, r, "mail")
        for rcpt in recipients:
            args = ()
            if isinstance(rcpt, tuple):
                rcpt, args = rcpt[0], rcpt[1:]
            rr = self.rcpt(rcpt, args, macros.get("rcpt"))
            res.rcpt.append((rcpt, rr))
            if rr.action in ("accept", "discard"):
                # The milter is done with this message; the MTA takes
                # the remaining recipients without asking it.
                res.accepted.extend(r if isinstance(r, str) else r[0]
                                    for r in recipients[len(res.rcpt) - 1:])
                return res._end(self, rr, "rcpt")
            if rr.passes:
                res.accepted.append(rcpt)
            elif rr.action in ("conn_fail", "shutdown"):
                return res._end(self, rr, "rcpt")
        if not res.accepted:
            # Every recipient refused: no DATA, the MTA resets. The
            # client may retry if any refusal was temporary.
            self.abort()
            verdicts = [r.verdict for _, r in res.rcpt]
            res.action = "tempfail" if "tempfail" in verdicts else "reject"
            res.stage = "rcpt"
            res.reply = res.rcpt[-1][1] if res.rcpt else None
            return res
        steps = [("data", lambda: self.data(macros.get("data")))]
        headers, body = split_message(message)
        for name, value in message_headers(headers, self.leadspc):
            steps.append(("header",
                          lambda n=name, v=value: self.header(n, v)))
        steps.append(("eoh", lambda: self.eoh(macros.get("eoh"))))
        steps.append(("body", lambda: self.body(crlf(body))))
        for stage, step in steps:
            r = step()
            if r.action == "skip" and stage == "body":
                continue
            if not r.passes:
                return res._end(self, r, stage)
        r = self.eob(macros.get("eob"))
        res.eob = r
        res.modifications = r.modifications
        res.progress = r.progress
        res.action = r.verdict
        res.reply = r
        res.stage = "eob"
        return res


class Result:
    """The outcome of send_message(). action is what the MTA does with
    the message: "continue" (deliver, with modifications), "accept"
    (deliver, the milter stepped aside earlier), "reject", "tempfail",
    "discard", "conn_fail" or "shutdown"; stage is where that was
    decided; reply the deciding Reply (reply.text holds a custom SMTP
    reply); rcpt [(recipient, Reply)], accepted the recipients taken;
    modifications the end-of-body Modification list; headers_edits
    only those that touch headers."""

    def __init__(self):
        self.action = None
        self.stage = None
        self.reply = None
        self.mail = None
        self.rcpt = []
        self.accepted = []
        self.eob = None
        self.modifications = []
        self.progress = 0
        self.negotiation = None

    def _end(self, client, reply, stage):
        self.action, self.stage, self.reply = reply.verdict, stage, reply
        if reply.action in ("reject", "tempfail", "replycode", "discard",
                            "accept"):
            client.abort()
        return self

    @property
    def text(self):
        return self.reply.text if self.reply else None

    @property
    def delivered(self):
        """True when the MTA delivers the message."""
        return self.action in ("continue", "accept")

    @property
    def header_edits(self):
        return [m for m in self.modifications
                if m.kind in ("add_header", "insert_header",
                              "change_header", "delete_header")]

    def __repr__(self):
        return (f"<Result {self.action} at {self.stage}"
                f"{' ' + repr(self.text) if self.text else ''}"
                f" mods={self.modifications}>")


def send_message(spec, sender, recipients, message, client_name="localhost",
                 client_addr="127.0.0.1", client_port=0, family="4",
                 helo="localhost", mail_args=(), macros=None, timeout=10.0,
                 **kw):
    """A whole SMTP session against the milter at `spec`: negotiate,
    connect, helo, then one message (MilterClient.send_message) and quit.
    `macros` is {stage: {name: value}}; the connect stage gets
    {client_addr}, {client_name}, {client_port} from the arguments and j,
    {daemon_name} unless given, as Postfix sends them. Returns the
    Result, with result.negotiation set; a refusal at connect or helo ends
    the session there."""
    macros = {k: dict(v) for k, v in (macros or {}).items()}
    conn = {"j": "mta.sesgate.test", "{daemon_name}": "smtpd",
            "{client_addr}": client_addr, "{client_name}": client_name,
            "{client_port}": str(client_port)}
    conn.update(macros.get("connect", {}))
    macros["connect"] = conn
    with MilterClient(spec, timeout=timeout, **kw) as m:
        res = Result()
        res.negotiation = m.negotiation
        for stage, call in (
                ("connect", lambda: m.connect(client_name, family,
                                              client_addr, client_port,
                                              macros["connect"])),
                ("helo", lambda: m.helo(helo, macros.get("helo")))):
            r = call()
            if not r.passes:
                res.action, res.stage, res.reply = r.verdict, stage, r
                m.quit()
                return res
        res = m.send_message(sender, recipients, message, mail_args, macros)
        res.negotiation = m.negotiation
        m.quit()
        return res


# Messages as an MTA sees them.

def _split_lf(data):
    """The lines of `data`, each with its line end (CRLF or bare LF; the
    last may have none). Unlike bytes.splitlines(), a lone CR does not
    end a line, as in SMTP."""
    lines, start = [], 0
    while True:
        i = data.find(b"\n", start)
        if i < 0:
            if start < len(data):
                lines.append(data[start:])
            return lines
        lines.append(data[start:i + 1])
        start = i + 1


def _strip_eol(line):
    if line.endswith(b"\r\n"):
        return line[:-2]
    if line.endswith(b"\n"):
        return line[:-1]
    return line


def with_eol(data, eol):
    """`data` with every line end (CRLF or bare LF) made `eol`."""
    return b"".join(_strip_eol(x) + (eol if x.endswith(b"\n") else b"")
                    for x in _split_lf(data))


def crlf(data):
    """The body as the MTA passes it to a milter: every line end CRLF,
    whatever the submission used."""
    return with_eol(data, b"\r\n")


def _split(message):
    fields, lines = [], _split_lf(message)
    sep = b""
    i = 0
    while i < len(lines):
        line = lines[i]
        bare = _strip_eol(line)
        if bare == b"":
            sep = line
            i += 1
            break
        if bare[:1] in (b" ", b"\t") and fields:
            name, raw = fields[-1]
            fields[-1] = (name, raw + line)
        else:
            name, colon, _ = bare.partition(b":")
            name = name.rstrip(b" \t")
            if not colon or not name or \
                    any(c <= 32 or c > 126 for c in name):
                break
            fields.append((name.decode("latin-1"), line))
        i += 1
    return fields, sep, b"".join(lines[i:])


def split_message(message):
    """(fields, body) of a raw message: fields is a list of (name, raw)
    where raw is the whole field as written (folded lines and line ends
    included); body is what follows the empty line. A line that is
    neither a field nor a continuation ends the header and starts the
    body."""
    fields, _sep, body = _split(message)
    return fields, body


def field_value(raw, leadspc=False):
    """A field's value as an MTA passes it to a milter: what follows the
    colon, folded lines joined by "\\n" (Postfix and Sendmail pass LF,
    not CRLF) with the next line's leading whitespace kept, the final line
    end dropped, and the whitespace after the colon dropped unless
    `leadspc` (SMFIP_HDR_LEADSPC)."""
    value = with_eol(raw.split(b":", 1)[1], b"\n")
    if value.endswith(b"\n"):
        value = value[:-1]
    if not leadspc:
        value = value.lstrip(b" \t")
    return value.decode("utf-8", "surrogateescape")


def message_headers(fields, leadspc=False):
    """[(name, value)] to send as SMFIC_HEADER for split_message()'s
    fields."""
    return [(name, field_value(raw, leadspc)) for name, raw in fields]


def _format_field(name, value, leadspc, eol):
    """A header field as the MTA writes one the milter added: "Name:
    value" (no space added under HDR_LEADSPC, where the milter sends its
    own), the milter's line breaks made `eol`."""
    sep = b":" if leadspc else b": "
    return _enc(name) + sep + with_eol(_enc(value), eol) + eol


def apply_edits(message, result, eol=b"\r\n", leadspc=None):
    """The message the MTA would deliver after the header edits and body
    replacement in `result` (a Result, a Reply or a list of
    Modification). Fields the milter did not touch keep their bytes;
    edits apply in the order received, each index counted on the fields
    as they stand at that point:

    - change/delete: the index-th field (from 1) of that name, case
      ignored; a change past the last one appends the field (as
      smfi_chgheader() documents), a delete past it does nothing;
    - insert: before the index-th field (from 0) of the whole header, at
      the end when past it;
    - add: at the end of the header.

    Envelope changes (sender, recipients, quarantine) are in result, not
    in the message. Line ends become `eol` (CRLF, as sent over SMTP;
    None keeps the message's own). `leadspc` defaults to what the milter
    negotiated when result carries its negotiation, else False."""
    mods = getattr(result, "modifications", result)
    if leadspc is None:
        neg = getattr(result, "negotiation", None)
        leadspc = bool(neg and "HDR_LEADSPC" in neg.steps)
    fields, sep, body = _split(message)
    own_eol = b"\r\n" if b"\r\n" in message else b"\n"
    new = eol or own_eol

    def field(m):
        return (m.name, _format_field(m.name, m.value, leadspc, new))
    replaced = None
    for m in mods:
        if m.kind == "add_header":
            fields.append(field(m))
        elif m.kind == "insert_header":
            fields.insert(min(m.index, len(fields)), field(m))
        elif m.kind in ("change_header", "delete_header"):
            hits = [i for i, (n, _) in enumerate(fields)
                    if n.lower() == m.name.lower()]
            # Index 0 means the first, as in Sendmail.
            pos = max(m.index, 1) - 1
            if pos < len(hits):
                if m.kind == "delete_header":
                    del fields[hits[pos]]
                else:
                    fields[hits[pos]] = field(m)
            elif m.kind == "change_header":
                fields.append(field(m))
        elif m.kind == "replace_body":
            replaced = (replaced or b"") + m.body
    if replaced is not None:
        body = replaced
    if sep == b"" and body:
        sep = own_eol
    out = b"".join(raw for _, raw in fields) + sep + body
    return out if eol is None else with_eol(out, eol)
