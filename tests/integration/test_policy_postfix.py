"""sesgate-policyd behind a real Postfix: mail is submitted over SMTP to a
private Postfix instance whose smtpd asks the policy service for every
recipient, and the tests check the exact RCPT replies Postfix gives and
what reaches the SMTP sink Postfix relays to.

The rules in the order the policy service applies them: sending paused,
unverified sender, sandbox, suppression list, recipients per message
(quotas are in test_policy_quota.py), otherwise accepted. Also: mail from
a client that is neither internal nor authenticated is not checked, and
the SASL user name (real Cyrus SASL AUTH through Postfix) is the sender
identity.
"""
import hashlib
import hmac
import shutil

import pytest

from postfix import (OK, PREFIX, QUOTA, RATE, REGION, TOO_MANY, level_key,
                     refused, suppress, usage)

UNVERIFIED = ("554 5.7.1 Message rejected: Email address is not verified. "
              "The following identities failed the check in region "
              f"{REGION}: ")
SENDER = "alice@verified.example"

needs_sasl = pytest.mark.skipif(shutil.which("saslpasswd2") is None,
                                reason="saslpasswd2 (sasl2-bin) missing")


def delivered(mta, sub, count):
    """Recipients of submission `sub` at the sink, once `count` arrived."""
    return mta.sink.wait_recipients(count, sub.token)


def test_no_policy_service_fails_closed(mta):
    sub = mta.submit(SENDER, ["rcpt@dest.example"])
    assert sub.mail == "250 2.1.0 Ok"
    assert sub.rcpt == ["451 4.3.5 <rcpt@dest.example>: Recipient address "
                        "rejected: Policy service unavailable"]
    assert sub.data is None


def test_accepted_and_delivered(mta):
    mta.policyd()
    rcpts = ["one@dest.example", "two@dest.example", "three@other.example"]
    sub = mta.submit(SENDER, rcpts)
    assert sub.rcpt == [OK, OK, OK]
    assert sub.data.startswith("250 2.0.0 Ok: queued as ")
    assert sorted(delivered(mta, sub, 3)) == sorted(rcpts)
    assert mta.redis.hget(f"{PREFIX}stats", "policyd:accept") == "3"
    assert usage(mta.redis, "sender", SENDER) == 3
    assert usage(mta.redis, "domain", "verified.example") == 3
    assert usage(mta.redis, "account") == 3


@pytest.mark.parametrize("level,reason,text", [
    ("account", "bounce rate over 10%",
     "454 4.7.0 Sending paused for this account: bounce rate over 10%"),
    ("account", "",
     "454 4.7.0 Sending paused for this account: paused by the "
     "administrator"),
    ("sender", "complaints under review",
     f"454 4.7.0 Sending paused for sender {SENDER}: complaints under "
     "review"),
    ("domain", "DKIM keys rotated",
     "454 4.7.0 Sending paused for domain verified.example: DKIM keys "
     "rotated"),
])
def test_paused(mta, level, reason, text):
    ident = {"sender": SENDER, "domain": "verified.example"}.get(level)
    mta.redis.set(level_key("pause", level, ident), reason)
    mta.policyd()
    sub = mta.submit(SENDER, ["rcpt@dest.example", "other@dest.example"])
    assert sub.rcpt == [refused("rcpt@dest.example", text),
                        refused("other@dest.example", text)]
    assert sub.data is None
    assert mta.redis.hget(f"{PREFIX}stats", "policyd:paused") == "2"
    assert usage(mta.redis, "account") == 0


def test_pause_of_other_sender_or_domain_does_not_apply(mta):
    mta.redis.set(level_key("pause", "sender", "bob@verified.example"), "x")
    mta.redis.set(level_key("pause", "domain", "other.example"), "x")
    mta.policyd()
    sub = mta.submit(SENDER, ["rcpt@dest.example"])
    assert sub.rcpt == [OK]
    assert delivered(mta, sub, 1) == ["rcpt@dest.example"]


def test_pause_is_checked_before_everything_else(mta):
    """A paused account refuses even an unverified sender to a suppressed
    recipient with the pause text."""
    mta.redis.set(level_key("pause", "account"), "maintenance")
    suppress(mta.redis, "gone@dest.example")
    mta.policyd()
    sub = mta.submit("bob@unverified.example", ["gone@dest.example"])
    assert sub.rcpt == [refused("gone@dest.example", "454 4.7.0 Sending "
                                "paused for this account: maintenance")]


def test_resume_by_deleting_the_pause(mta):
    mta.redis.set(level_key("pause", "account"), "maintenance")
    mta.policyd()
    sub = mta.submit(SENDER, ["rcpt@dest.example"])
    assert sub.rcpt == [refused("rcpt@dest.example", "454 4.7.0 Sending "
                                "paused for this account: maintenance")]
    mta.redis.delete(level_key("pause", "account"))
    sub = mta.submit(SENDER, ["rcpt@dest.example"])
    assert sub.rcpt == [OK]
    assert delivered(mta, sub, 1) == ["rcpt@dest.example"]


@pytest.mark.parametrize("sender,shown", [
    ("bob@unverified.example", "bob@unverified.example"),
    ("Bob@Unverified.EXAMPLE", "bob@unverified.example"),
    # An address identity verifies that address only, not its domain.
    ("other@address.example", "other@address.example"),
])
def test_unverified_sender(mta, sender, shown):
    mta.policyd()
    sub = mta.submit(sender, ["rcpt@dest.example", "two@dest.example"])
    assert sub.mail == "250 2.1.0 Ok"
    assert sub.rcpt == [refused("rcpt@dest.example", UNVERIFIED + shown),
                        refused("two@dest.example", UNVERIFIED + shown)]
    assert sub.data is None
    assert mta.redis.hget(f"{PREFIX}stats",
                          "policyd:unverified_sender") == "2"
    assert usage(mta.redis, "account") == 0


@pytest.mark.parametrize("sender", [
    "only@address.example",             # address identity
    "Only@Address.Example",             # ... matched case-insensitively
    "anyone@verified.example",          # domain identity
    "",                                 # null sender (bounces)
])
def test_verified_sender(mta, sender):
    mta.policyd()
    sub = mta.submit(sender, ["rcpt@dest.example"])
    assert sub.rcpt == [OK]
    assert delivered(mta, sub, 1) == ["rcpt@dest.example"]
    assert mta.sink.received(sub.token)[0].mail_from == sender


def test_verify_sender_off(mta):
    mta.policyd(verify_sender="no")
    sub = mta.submit("bob@unverified.example", ["rcpt@dest.example"])
    assert sub.rcpt == [OK]
    assert delivered(mta, sub, 1) == ["rcpt@dest.example"]


# Sandbox

def sandbox_identities(mta):
    mta.redis.sadd(f"{PREFIX}identities", "friend@rcpt.example",
                   "team.example")


def test_sandbox_unverified_recipient(mta):
    sandbox_identities(mta)
    # Lift only the sandbox's 1/s so that several recipients pass.
    mta.redis.hset(level_key("limits", "account"), "max_rate", -1)
    mta.policyd(sandbox="yes")
    rcpts = ["stranger@rcpt.example", "friend@rcpt.example",
             "Anyone@Team.Example", "success@simulator.amazonses.com",
             "Bob@Nowhere.Example"]
    sub = mta.submit(SENDER, rcpts)
    assert sub.rcpt == [refused("stranger@rcpt.example",
                                UNVERIFIED + "stranger@rcpt.example"),
                        OK, OK, OK,
                        refused("Bob@Nowhere.Example",
                                UNVERIFIED + "bob@nowhere.example")]
    assert sorted(delivered(mta, sub, 3)) == sorted(
        ["friend@rcpt.example", "Anyone@Team.Example",
         "success@simulator.amazonses.com"])
    assert mta.redis.hget(f"{PREFIX}stats",
                          "policyd:unverified_recipient") == "2"
    # The simulator is not counted against the daily quota.
    assert usage(mta.redis, "account") == 2


def test_sandbox_off_does_not_check_recipients(mta):
    mta.policyd(sandbox="no")
    sub = mta.submit(SENDER, ["stranger@rcpt.example"])
    assert sub.rcpt == [OK]


@pytest.mark.parametrize("second", ["team@team.example",
                                    "success@simulator.amazonses.com"])
def test_sandbox_default_rate_one_per_second(mta, second):
    """Sandbox defaults: 1 per second, the simulator included."""
    sandbox_identities(mta)
    mta.policyd(sandbox="yes")
    sub = mta.submit(SENDER, ["friend@rcpt.example", second])
    assert sub.rcpt == [OK, refused(second, RATE)]
    assert delivered(mta, sub, 1) == ["friend@rcpt.example"]
    assert mta.redis.hget(f"{PREFIX}stats", "policyd:rate") == "1"
    assert usage(mta.redis, "account") == 1


def test_sandbox_default_daily_quota_200(mta):
    """Sandbox defaults: 200 per window; the simulator is still allowed
    once the quota is used up."""
    sandbox_identities(mta)
    mta.redis.hset(level_key("limits", "account"), "max_rate", -1)
    # The account limits do not apply in the sandbox.
    mta.policyd(sandbox="yes", account_max_24h="5")
    tokens = []
    for m in range(4):
        rcpts = [f"r{m}-{i}@team.example" for i in range(50)]
        sub = mta.submit(SENDER, rcpts)
        assert sub.rcpt == [OK] * 50
        tokens.append(sub)
    sub = mta.submit(SENDER, ["r201@team.example",
                              "success@simulator.amazonses.com"])
    assert sub.rcpt == [refused("r201@team.example", QUOTA), OK]
    assert usage(mta.redis, "account") == 200
    for t in tokens:
        assert len(delivered(mta, t, 50)) == 50
    assert delivered(mta, sub, 1) == ["success@simulator.amazonses.com"]


# Suppression list

@pytest.mark.parametrize("reason", ["BOUNCE", "COMPLAINT"])
def test_suppressed_recipient(mta, reason):
    suppress(mta.redis, "gone@dest.example", reason=reason)
    mta.policyd()
    sub = mta.submit(SENDER, ["Gone@Dest.EXAMPLE", "kept@dest.example"])
    assert sub.rcpt == [refused("Gone@Dest.EXAMPLE", "550 5.1.1 Address is "
                                f"on the suppression list (reason {reason}, "
                                "since 2023-11-14T22:13:20Z)"), OK]
    assert delivered(mta, sub, 1) == ["kept@dest.example"]
    assert mta.redis.hget(f"{PREFIX}stats", "policyd:suppressed") == "1"
    assert usage(mta.redis, "account") == 1


def test_suppression_entry_removed(mta):
    suppress(mta.redis, "gone@dest.example")
    mta.policyd()
    assert mta.submit(SENDER, ["gone@dest.example"]).rcpt == [
        refused("gone@dest.example", "550 5.1.1 Address is on the "
                "suppression list (reason BOUNCE, since "
                "2023-11-14T22:13:20Z)")]
    mta.redis.delete(f"{PREFIX}suppression:gone@dest.example")
    mta.redis.zrem(f"{PREFIX}suppressed", "gone@dest.example")
    sub = mta.submit(SENDER, ["gone@dest.example"])
    assert sub.rcpt == [OK]
    assert delivered(mta, sub, 1) == ["gone@dest.example"]


def test_suppressed_recipient_privacy_mode(mta):
    key = "list-secret"
    h = hmac.new(key.encode(), b"gone@dest.example",
                 hashlib.sha256).hexdigest()
    suppress(mta.redis, h, reason="COMPLAINT", when=1704067200)
    # An entry under the plain address is not looked at in this mode.
    suppress(mta.redis, "plain@dest.example")
    mta.policyd(redis={"suppression_hash_key": key})
    sub = mta.submit(SENDER, ["gone@dest.example", "plain@dest.example"])
    assert sub.rcpt == [refused("gone@dest.example", "550 5.1.1 Address is "
                                "on the suppression list (reason COMPLAINT, "
                                "since 2024-01-01T00:00:00Z)"), OK]
    assert delivered(mta, sub, 1) == ["plain@dest.example"]


# Recipients per message

def test_51st_recipient_of_a_message(mta):
    mta.policyd()
    rcpts = [f"r{i}@dest.example" for i in range(51)]
    sub = mta.submit(SENDER, rcpts)
    assert sub.rcpt == [OK] * 50 + [refused("r50@dest.example", TOO_MANY)]
    assert sub.data.startswith("250 2.0.0 Ok: queued as ")
    got = delivered(mta, sub, 50)
    assert sorted(got) == sorted(rcpts[:50])
    assert mta.redis.hget(f"{PREFIX}stats",
                          "policyd:too_many_recipients") == "1"
    assert usage(mta.redis, "account") == 50
    # The next message starts from zero.
    sub = mta.submit(SENDER, ["next@dest.example"])
    assert sub.rcpt == [OK]
    assert delivered(mta, sub, 1) == ["next@dest.example"]


def test_max_recipients_setting(mta):
    mta.policyd(max_recipients="3")
    sub = mta.submit(SENDER, [f"r{i}@dest.example" for i in range(5)])
    assert sub.rcpt == [OK] * 3 + [refused("r3@dest.example", TOO_MANY),
                                   refused("r4@dest.example", TOO_MANY)]
    assert len(delivered(mta, sub, 3)) == 3


def test_refused_recipients_do_not_count_towards_the_50(mta):
    suppress(mta.redis, "gone@dest.example")
    mta.policyd(max_recipients="2")
    sub = mta.submit(SENDER, ["gone@dest.example", "a@dest.example",
                              "gone@dest.example", "b@dest.example",
                              "c@dest.example"])
    assert [r[:3] for r in sub.rcpt] == ["550", "250", "550", "250", "452"]


# Inbound mail

def test_inbound_client_not_checked(mta):
    """A client outside internal_hosts and not authenticated is the
    milter's business: DUNNO, nothing checked, nothing counted."""
    suppress(mta.redis, "gone@dest.example")
    mta.redis.set(level_key("pause", "account"), "maintenance")
    before = sorted(mta.redis.keys("*"))
    pd = mta.policyd(glob={"internal_hosts": "10.0.0.0/8"})
    sub = mta.submit("bob@unverified.example",
                     ["gone@dest.example", "rcpt@dest.example"])
    assert sub.rcpt == [OK, OK]
    assert sorted(delivered(mta, sub, 2)) == ["gone@dest.example",
                                              "rcpt@dest.example"]
    assert sorted(mta.redis.keys("*")) == before
    assert pd.logtext().count("policyd: inbound: DUNNO") == 2


# The SASL user name as the sender identity (Cyrus SASL through Postfix)

ALICE = ("alice", "alice-secret")
ALICE_ID = "alice@sesgate.test"


@needs_sasl
def test_sasl_user_is_the_sender_identity(mta):
    mta.redis.set(level_key("pause", "sender", ALICE_ID), "abuse report")
    mta.policyd()
    sub = mta.submit(SENDER, ["rcpt@dest.example"], login=ALICE)
    assert sub.rcpt == [refused("rcpt@dest.example", "454 4.7.0 Sending "
                                f"paused for sender {ALICE_ID}: abuse "
                                "report")]
    # The same envelope sender under another SASL user is not paused.
    sub = mta.submit(SENDER, ["rcpt@dest.example"],
                     login=("bob", "bob-secret"))
    assert sub.rcpt == [OK]
    assert delivered(mta, sub, 1) == ["rcpt@dest.example"]


@needs_sasl
def test_sasl_user_quota(mta):
    mta.redis.hset(level_key("limits", "sender", ALICE_ID), "max_24h", 2)
    mta.policyd()
    a = mta.submit(SENDER, ["r1@dest.example"], login=ALICE)
    b = mta.submit("other@verified.example", ["r2@dest.example"],
                   login=ALICE)
    c = mta.submit("third@verified.example", ["r3@dest.example"],
                   login=ALICE)
    assert (a.rcpt, b.rcpt, c.rcpt) == (
        [OK], [OK], [refused("r3@dest.example", QUOTA)])
    assert usage(mta.redis, "sender", ALICE_ID) == 2
    assert usage(mta.redis, "sender", SENDER) == 0
    assert usage(mta.redis, "domain", "verified.example") == 2
    d = mta.submit("third@verified.example", ["r3@dest.example"],
                   login=("bob", "bob-secret"))
    assert d.rcpt == [OK]
    assert usage(mta.redis, "sender", "bob@sesgate.test") == 1


@needs_sasl
def test_sasl_sender_still_verified(mta):
    mta.policyd()
    sub = mta.submit("bob@unverified.example", ["rcpt@dest.example"],
                     login=ALICE)
    assert sub.rcpt == [refused("rcpt@dest.example",
                                UNVERIFIED + "bob@unverified.example")]


@needs_sasl
def test_sender_identity_envelope(mta):
    mta.redis.hset(level_key("limits", "sender", SENDER), "max_24h", 1)
    mta.policyd(sender_identity="envelope")
    a = mta.submit(SENDER, ["r1@dest.example", "r2@dest.example"],
                   login=ALICE)
    assert a.rcpt == [OK, refused("r2@dest.example", QUOTA)]
    assert usage(mta.redis, "sender", SENDER) == 1
    assert usage(mta.redis, "sender", ALICE_ID) == 0


@needs_sasl
def test_authenticated_client_checked_even_when_not_internal(mta):
    pd = mta.policyd(glob={"internal_hosts": "10.0.0.0/8"})
    sub = mta.submit("bob@unverified.example", ["rcpt@dest.example"],
                     login=ALICE)
    assert sub.rcpt == [refused("rcpt@dest.example",
                                UNVERIFIED + "bob@unverified.example")]
    assert "sasl_username=<alice@sesgate.test>" in pd.logtext()
