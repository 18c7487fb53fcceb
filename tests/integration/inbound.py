"""What the inbound tests of sesgate-milter share: a loopback DNS server
with the test zones, one sesgate-milter resolving through it only, and a
private Postfix with the milter that relays to a local sink. Mail is made
inbound by sending it as a remote client would: with XCLIENT, from a
documentation address (RFC 5737, RFC 3849), which is outside the milter's
internal_hosts.

    lab = InboundLab(tmp_path_factory)
    lab.dns.add_zone("spf.example", [("@", "TXT", "v=spf1 -all")])
    got = lab.send("192.0.2.10", "mail.spf.example", "a@spf.example",
                   message(...))
    assert got.sub.data == "250 2.0.0 Ok: queued as ..."
    assert got.ar == "mx.sesgate.test; spf=fail ..."
    lab.close()

Names cached by the milter's resolver stay cached for the records' TTL:
a test that changes a record uses names of its own instead.
"""
import email.utils
import re
import time
import uuid

from dnsserver import DnsServer
from lab import MilterD, free_port
from postfix import TEST_HEADER, Postfix, SmtpSink

AUTHSERV_ID = "mx.sesgate.test"
RCPT = "rcpt@inbound.sesgate.test"
# Documentation networks the tests send from; Postfix relays for them.
CLIENT_NETS = "127.0.0.0/8 192.0.2.0/24 198.51.100.0/24 203.0.113.0/24 " \
              "[2001:db8::]/32"


def message(from_hdr, to=RCPT, subject="inbound test", body="Hello.\r\n",
            extra=""):
    """A message as bytes with CRLF lines: From (given in full, e.g.
    "Alice <a@example.org>"), To, Subject, Date, Message-ID, the test
    token header, then `extra` (CRLF-ended fields) and the body."""
    token = uuid.uuid4().hex
    text = (f"From: {from_hdr}\r\n"
            f"To: <{to}>\r\n"
            f"Subject: {subject}\r\n"
            f"Date: {email.utils.formatdate()}\r\n"
            f"Message-ID: <{token}@inbound.sesgate.test>\r\n"
            f"{TEST_HEADER}: {token}\r\n"
            + extra + "\r\n" + body)
    return text.encode()


def token_of(msg):
    m = re.search(rb"^" + TEST_HEADER.encode() + rb": (\w+)\r$", msg,
                  re.M)
    return m.group(1).decode()


class Outcome:
    """One inbound transaction: sub (the SMTP replies, a Submission),
    delivery (what the sink received, or None), ar (the unfolded
    Authentication-Results fields as a list, top first), received_spf
    (the same for Received-SPF)."""

    def __init__(self, sub, delivery):
        self.sub = sub
        self.delivery = delivery
        self.ars = delivery.headers("Authentication-Results") \
            if delivery else []
        self.received_spf = delivery.headers("Received-SPF") \
            if delivery else []

    @property
    def ar(self):
        """The topmost Authentication-Results value (ours), or None."""
        return self.ars[0] if self.ars else None


class InboundLab:
    """NSD, sesgate-milter and Postfix for one test module. milter={...}
    adds [milter] keys; reconfigure(...) changes them with a reload."""

    def __init__(self, tmp_path_factory, milter=None, glob=None):
        self.dns = DnsServer(tmp_path_factory.mktemp("dns")).start()
        self.sink = SmtpSink()
        self.milter = None
        self.postfix = None
        try:
            conf = {"authserv_id": AUTHSERV_ID,
                    "dns_resolver": f"127.0.0.1@{self.dns.port}",
                    "dns_timeout": "5s"}
            conf.update(milter or {})
            self.milter = MilterD(tmp_path_factory.mktemp("milter"),
                                  "redis://127.0.0.1:1/0", milter=conf,
                                  glob=glob)
            self.postfix = Postfix(self.sink, policy_port=None,
                                   smtpd_port=free_port(),
                                   milter_port=self.milter.port,
                                   extra={"mynetworks": CLIENT_NETS,
                                          "inet_protocols": "all",
                                          # Mail from the clients stays
                                          # as sent: no From added.
                                          "local_header_rewrite_clients":
                                          ""})
            self.postfix.start()
        except BaseException:
            self.close()
            raise

    def reconfigure(self, **milter):
        self.milter.rewrite(**milter)
        self.milter.reload()

    def send(self, addr, helo, sender, msg, rcpts=(RCPT,), timeout=20.0):
        """Send msg (from message()) as client addr; wait for it at the
        sink when end of data got 250 and it was not held. An Outcome."""
        before = {q["queue_id"] for q in self.held()}
        sub = self.postfix.send_as(addr, helo, sender, list(rcpts), msg)
        delivery = None
        if sub.data is not None and sub.data.startswith("250"):
            token = token_of(msg)
            deadline = time.monotonic() + timeout
            while delivery is None and time.monotonic() < deadline:
                got = self.sink.received(token)
                if got:
                    delivery = got[0]
                    break
                if {q["queue_id"] for q in self.held()} - before:
                    break
                time.sleep(0.05)
        return Outcome(sub, delivery)

    def held(self):
        """Messages in Postfix's hold queue (quarantined), as postqueue
        -j lists them."""
        return [q for q in self.postfix.queue()
                if q.get("queue_name") == "hold"]

    def clear_held(self):
        """Delete every message of the hold queue."""
        self.postfix.postfix_cmd("postsuper", "-d", "ALL", "hold")

    def close(self):
        if self.postfix is not None:
            self.postfix.stop()
        if self.milter is not None:
            self.milter.stop()
        self.sink.close()
        self.dns.stop()
