"""Reputation end to end: sesgate-policyd accepts a sender's recipients,
SES's bounce notifications reach sesgate-feedbackd, the bounce rate over
the policy service's window reaches the review and then the pause
threshold, the next RCPT gets the pause reply, and sesgatectl resume
clears it.
"""
import subprocess

from feedback import FeedbackD, SnsSigner, bounce, complaint
from lab import SESGATECTL

P = "sesgate:"
SENDER = "alice@example.com"


def notify(fd, signer, ev, source=SENDER):
    ev["mail"]["source"] = source
    return fd.post(signer.notification(ev))


def ask(c, recipient, sender=SENDER):
    return c.ask(sender=sender, recipient=recipient)


def test_bounces_pause_sender_and_account_until_resumed(
        tmp_path, redis_server, policyd_factory):
    r = redis_server.client()
    r.sadd(f"{P}identities", "example.com")
    p = policyd_factory(policyd={"account_max_rate": "unlimited"})
    c = p.connect()
    for i in range(20):
        assert ask(c, f"r{i}@dest.example") == "DUNNO"
    signer = SnsSigner(tmp_path / "certs")
    fd = FeedbackD(tmp_path / "fd", redis_server.url, signer.dir,
                   feedbackd={"reputation_min_sends": "10"})
    try:
        # 1 of 20: 5 %, SES's review threshold: logged, not paused.
        assert notify(fd, signer, bounce(["r0@dest.example"])) == \
            (200, "stored")
        assert r.keys(f"{P}pause:*") == []
        assert "feedbackd: reputation: alice@example.com under review: " \
            "bounce rate 5.00% (1 of 20), complaint rate 0.00% (0)" in \
            fd.logtext()
        # 2 of 20: 10 %, the pause threshold, for the sender, its domain
        # and the account (all of whose sends are alice's).
        assert notify(fd, signer, bounce(["r1@dest.example"])) == \
            (200, "stored")
        assert r.get(f"{P}pause:sender:{SENDER}") == \
            "bounce rate 10.00% reached 10%"
        assert r.get(f"{P}pause:account") == "bounce rate 10.00% reached 10%"
        assert r.get(f"{P}pause:domain:example.com") == \
            "bounce rate 10.00% reached 10%"
        assert "feedbackd: reputation: alice@example.com paused: bounce " \
            "rate 10.00% (2 of 20)" in fd.logtext()
        assert ask(c, "next@dest.example") == (
            "454 4.7.0 Sending paused for this account: bounce rate "
            "10.00% reached 10%")
        # The daemon's configuration: its reputation_min_sends.
        out = subprocess.run([SESGATECTL, "-c", fd.conf, "status"],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[2:5] == [
            "bounce rate: 10.00% (2 of 20 recipients in 1d)",
            "complaint rate: 0.00% (0)",
            "reputation: pause threshold reached"]
        for args in (["resume"], ["resume", "sender", SENDER],
                     ["resume", "domain", "example.com"]):
            out = subprocess.run([SESGATECTL, "-c", p.conf] + args,
                                 capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
        assert ask(c, "next@dest.example") == "DUNNO"
        # Resumed stays resumed until the rate moves again: a soft
        # bounce changes nothing.
        assert notify(fd, signer, bounce(["r2@dest.example"], "Transient",
                                         "General")) == (200, "stored")
        assert r.keys(f"{P}pause:*") == []
    finally:
        fd.stop()
        c.close()


def test_complaints_pause_at_their_own_threshold(tmp_path, redis_server,
                                                 policyd_factory):
    r = redis_server.client()
    r.sadd(f"{P}identities", "example.org")
    p = policyd_factory(policyd={"account_max_rate": "unlimited"})
    c = p.connect()
    bob = "bob@example.org"
    for i in range(200):
        assert ask(c, f"c{i}@dest.example", sender=bob) == "DUNNO"
    signer = SnsSigner(tmp_path / "certs")
    fd = FeedbackD(tmp_path / "fd", redis_server.url, signer.dir)
    try:
        # 1 of 200 = 0.5 %: the complaint pause threshold (default).
        assert notify(fd, signer, complaint(["c0@dest.example"]),
                      source=bob) == (200, "stored")
        assert r.get(f"{P}pause:sender:{bob}") == \
            "complaint rate 0.50% reached 0.5%"
        # not-spam feedback is no complaint.
        assert r.hget(f"{P}reputation:sender:{bob}", "x") is None
    finally:
        fd.stop()
        c.close()


def test_below_the_minimum_volume_nothing_is_judged(tmp_path, redis_server,
                                                    policyd_factory):
    r = redis_server.client()
    r.sadd(f"{P}identities", "example.net")
    p = policyd_factory(policyd={"account_max_rate": "unlimited"})
    c = p.connect()
    carol = "carol@example.net"
    for i in range(5):
        assert ask(c, f"m{i}@dest.example", sender=carol) == "DUNNO"
    signer = SnsSigner(tmp_path / "certs")
    fd = FeedbackD(tmp_path / "fd", redis_server.url, signer.dir)
    try:
        for i in range(3):
            assert notify(fd, signer, bounce([f"m{i}@dest.example"]),
                          source=carol) == (200, "stored")
        assert r.keys(f"{P}pause:*") == []
        fields = r.hgetall(f"{P}reputation:sender:{carol}")
        assert sorted(int(v) for v in fields.values()) == [3]
        assert 0 < r.pttl(f"{P}reputation:sender:{carol}") <= \
            25 * 3600 * 1000
    finally:
        fd.stop()
        c.close()


def test_sasl_user_named_by_a_tag_is_paused(tmp_path, redis_server,
                                             policyd_factory):
    """Mail submitted by SASL user dave carries, through its
    configuration set, the tag user=dave: bounces count for dave, whose
    quota the policy service keeps under his user name."""
    r = redis_server.client()
    r.sadd(f"{P}identities", "example.com")
    p = policyd_factory(policyd={"account_max_rate": "unlimited"})
    c = p.connect()
    for i in range(10):
        assert c.ask(sasl_username="dave", sender="news@example.com",
                     recipient=f"u{i}@dest.example") == "DUNNO"
    signer = SnsSigner(tmp_path / "certs")
    fd = FeedbackD(tmp_path / "fd", redis_server.url, signer.dir,
                   feedbackd={"reputation_min_sends": "10",
                              "user_tag": "user"})
    try:
        ev = bounce(["u0@dest.example"], form="event")
        ev["mail"]["tags"] = {"ses:configuration-set": ["transactional"],
                              "user": ["dave"]}
        assert notify(fd, signer, ev, source="news@example.com") == \
            (200, "stored")
        assert r.hgetall(f"{P}feedback:sender:dave") == \
            {"feedbackd:bounce_permanent": "1"}
        assert r.get(f"{P}pause:sender:dave") == \
            "bounce rate 10.00% reached 10%"
        assert c.ask(sasl_username="dave", sender="news@example.com",
                     recipient="next@dest.example") == (
            "454 4.7.0 Sending paused for this account: bounce rate "
            "10.00% reached 10%")
    finally:
        fd.stop()
        c.close()
