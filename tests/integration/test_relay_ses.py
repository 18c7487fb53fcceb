"""Relaying to SES as conf/main.cf sets it up: a private Postfix with the
shipped relay settings (STARTTLS required, SASL from a postmap'd
sasl_passwd) in front of the SES endpoint simulator, the policy service
and the signing milter on every message.

Nothing is lost while SES cannot be reached: with the simulator stopped
for 30 seconds while 500 messages are submitted, each accepted message is
delivered exactly once after it returns. And each way the relay can be
misconfigured (wrong SMTP password, no STARTTLS on offer, a region with no
endpoint) leaves the mail queued and says why in Postfix's log, in the
words INSTALL's troubleshooting section quotes.
"""
import concurrent.futures
import os
import subprocess
import time

import pytest

from lab import SESGATECTL, MilterD, PolicyD, free_port
from postfix import Postfix
from simulator import Simulator

REGION = "us-east-1"
SENDER = "app@relay.example"


@pytest.fixture
def stack(tmp_path, redis_server):
    """Redis with relay.example verified, sesgate-policyd, sesgate-milter
    signing relay.example, the simulator, and a Postfix relaying to it;
    stack(sim=[options], postfix_extra={...}, password=...) starts
    them."""
    made = []

    def start(sim=None, postfix_extra=None, password=None):
        r = redis_server.client()
        r.sadd("sesgate:identities", "relay.example")
        key = os.path.join(tmp_path, "relay.example.pem")
        subprocess.run([SESGATECTL, "dkim", "keygen", "relay.example",
                        "s1", "--out", key], check=True,
                       capture_output=True)
        policyd = PolicyD(tmp_path / "policyd", redis_server.url,
                          glob={"region": REGION},
                          policyd={"account_max_rate": "unlimited",
                                   "account_max_24h": "unlimited"})
        made.append(policyd)
        milter = MilterD(tmp_path / "milter", redis_server.url,
                         glob={"region": REGION},
                         milter={"dkim_key": f"relay.example s1 {key}"})
        made.append(milter)
        s = Simulator(tmp_path / "sim", *(sim or ()), region=REGION)
        made.append(s)
        if password is not None:
            s.password = password
        pf = Postfix(s, policy_port=policyd.port, smtpd_port=free_port(),
                     milter_port=milter.port, ses_relay=True,
                     extra=postfix_extra)
        made.append(pf)
        pf.start()
        return pf, s
    yield start
    for p in reversed(made):
        p.stop()


def submit(pf, i):
    """Message i: its Message-ID and the submission's replies."""
    mid = f"<m{i}.{time.monotonic_ns()}@relay.example>"
    sub = pf.submit(SENDER, [f"r{i}@dest.example"],
                    headers=f"Message-ID: {mid}\r\n")
    return mid, sub


def wait_log(pf, text, timeout=30.0):
    deadline = time.monotonic() + timeout
    while text not in pf.logtext():
        if time.monotonic() > deadline:
            raise AssertionError(f"not in Postfix's log: {text!r}\n"
                                 + pf.logtext()[-3000:])
        time.sleep(0.2)
    return pf.logtext()


def still_queued(pf):
    """The one message is in Postfix's queue, waiting for a retry (the
    queue manager moves it between deferred, incoming and active), not
    bounced nor held."""
    q = pf.queue()
    return len(q) == 1 and q[0]["queue_name"] in ("deferred", "incoming",
                                                  "active")


def test_relayed_over_starttls_with_sasl_and_signed(stack):
    pf, sim = stack()
    mid, sub = submit(pf, 0)
    assert sub.rcpt == ["250 2.1.5 Ok"] and sub.data.startswith("250 2.0.0")
    got = sim.wait_messages(1, timeout=30)
    assert len(got) == 1
    m = got[0]
    assert m.mail_from == SENDER and m.rcpts == ["r0@dest.example"]
    assert m.auth_user == sim.user
    assert m.header("Message-ID") == mid
    assert "d=relay.example" in m.header("DKIM-Signature")
    log = pf.logtext()
    assert f"relay=127.0.0.1[127.0.0.1]:{sim.port}" in log
    assert f"status=sent (250 Ok {m.ses_id})" in log


def test_nothing_lost_while_ses_is_away(stack):
    """The simulator is stopped for 30 s while 500 messages are
    submitted; after it returns, the count it holds equals the count
    Postfix accepted, with no Message-ID twice. A session that stalls
    before its transaction (greeting, EHLO, STARTTLS: the simulator
    coming back) is given up after seconds instead of Postfix's default
    5 minutes, so that the retry falls within the wait; nothing after
    MAIL FROM is shortened, which could deliver a message twice."""
    pf, sim = stack(postfix_extra={"smtp_connect_timeout": "5s",
                                   "smtp_helo_timeout": "15s",
                                   "smtp_starttls_timeout": "15s"})
    sim.stop()
    down = time.monotonic()
    accepted = set()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for mid, sub in pool.map(lambda i: submit(pf, i), range(500)):
            if sub.data and sub.data.startswith("250"):
                accepted.add(mid)
    assert len(accepted) == 500
    assert sim.messages() == []
    assert "Connection refused" in pf.logtext()
    time.sleep(max(0.0, 30 - (time.monotonic() - down)))
    sim.start()
    got = sim.wait_messages(500, timeout=180)
    ids = [m.header("Message-ID") for m in got]
    missing = sorted(accepted - set(ids))
    assert len(ids) == 500 and set(ids) == accepted, (
        f"{len(ids)} delivered; missing {missing[:5]}; queue "
        f"{pf.queue()[:5]}\n{pf.logtext()[-4000:]}")
    # Nothing more comes: the queue is empty and no message twice.
    deadline = time.monotonic() + 60
    while pf.queue() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert pf.queue() == []
    assert len(sim.messages()) == 500


def test_wrong_password_stays_queued_and_says_why(stack):
    pf, sim = stack(password="not-the-derived-password")
    submit(pf, 0)
    wait_log(pf, "SASL authentication failed; server "
             "127.0.0.1[127.0.0.1] said: 535 Authentication Credentials "
             "Invalid")
    assert sim.messages() == []
    assert still_queued(pf)


def test_no_starttls_stays_queued_and_says_why(stack):
    pf, sim = stack(sim=["--no-tls"])
    submit(pf, 0)
    wait_log(pf, "TLS is required, but was not offered by host "
             "127.0.0.1[127.0.0.1]")
    assert sim.messages() == []
    assert still_queued(pf)


def test_unknown_region_stays_queued_and_says_why(stack):
    """A region of the right form that has no SES endpoint: the relayhost
    name does not resolve, Postfix says so and keeps the mail."""
    pf, sim = stack(postfix_extra={
        "relayhost": "[email-smtp.xx-nowhere-9.amazonaws.com]:587"})
    submit(pf, 0)
    wait_log(pf, "Name service error for "
             "name=email-smtp.xx-nowhere-9.amazonaws.com")
    assert still_queued(pf)
