"""Sending quotas of sesgate-policyd behind a real Postfix: the rolling
daily count and the per-second rate with its burst, at the sender, domain
and account level, from the configuration and from Redis overrides
(P limits:...). Each recipient counts as one message; a refused recipient
consumes nothing at any level.
"""
import time

import pytest

from postfix import (OK, PREFIX, QUOTA, RATE, level_key, refused,
                     usage)

LEVELS = ("sender", "domain", "account")


@pytest.fixture
def quota_mta(mta):
    """mta with the senders' domains d0..d4.example verified."""
    mta.redis.sadd(f"{PREFIX}identities",
                   *[f"d{i}.example" for i in range(5)])
    return mta


def senders_for(level, count):
    """Senders whose mail adds up at `level` only: one sender, several
    senders of one domain, or senders of different domains."""
    if level == "sender":
        return ["s0@d0.example"] * count
    if level == "domain":
        return [f"s{i}@d0.example" for i in range(count)]
    return [f"s{i}@d{i}.example" for i in range(count)]


def ident(level, sender):
    return {"sender": sender, "domain": sender.split("@")[1]}.get(level)


def usages(r, sender, window_ms=86400000):
    """(sender, domain, account) counts in the window for `sender`."""
    return tuple(usage(r, lv, ident(lv, sender), window_ms)
                 for lv in LEVELS)


def fill_and_overflow(mta, level, n):
    """Sends n + 1 messages of one recipient each from senders adding up
    at `level`: the first n must be accepted, the last refused with the
    daily quota text and without consuming anything anywhere."""
    senders = senders_for(level, n + 1)
    subs = []
    for i, s in enumerate(senders[:n]):
        sub = mta.submit(s, [f"r{i}@dest.example"])
        assert sub.rcpt == [OK], f"recipient {i + 1} of {n}"
        subs.append(sub)
    last = senders[n]
    before = usages(mta.redis, last)
    sub = mta.submit(last, [f"r{n}@dest.example"])
    assert sub.rcpt == [refused(f"r{n}@dest.example", QUOTA)]
    assert sub.data is None
    assert usages(mta.redis, last) == before
    assert usage(mta.redis, level, ident(level, last)) == n
    assert usage(mta.redis, "account") == n
    assert mta.redis.hget(f"{PREFIX}stats", "policyd:quota") == "1"
    for i, s in enumerate(subs):
        assert mta.sink.wait_recipients(1, s.token) == [f"r{i}@dest.example"]


@pytest.mark.parametrize("level", LEVELS)
def test_daily_quota_from_config(quota_mta, level):
    quota_mta.policyd(**{f"{level}_max_24h": "3"})
    fill_and_overflow(quota_mta, level, 3)


@pytest.mark.parametrize("level", LEVELS)
def test_daily_quota_from_redis_override(quota_mta, level):
    who = ident(level, senders_for(level, 1)[0])
    quota_mta.redis.hset(level_key("limits", level, who), "max_24h", 2)
    quota_mta.policyd()
    fill_and_overflow(quota_mta, level, 2)


def test_quota_is_per_sender_and_per_domain(quota_mta):
    quota_mta.policyd(sender_max_24h="1", domain_max_24h="2")
    assert quota_mta.submit("a@d0.example", ["r@dest.example"]).rcpt == [OK]
    # a@ used its own quota; b@ of the same domain has its own.
    assert quota_mta.submit("a@d0.example", ["r@dest.example"]).rcpt == [
        refused("r@dest.example", QUOTA)]
    assert quota_mta.submit("b@d0.example", ["r@dest.example"]).rcpt == [OK]
    # d0.example used its 2; d1.example has its own.
    assert quota_mta.submit("c@d0.example", ["r@dest.example"]).rcpt == [
        refused("r@dest.example", QUOTA)]
    assert quota_mta.submit("c@d1.example", ["r@dest.example"]).rcpt == [OK]
    assert usages(quota_mta.redis, "a@d0.example") == (1, 2, 3)
    assert usages(quota_mta.redis, "c@d0.example") == (0, 2, 3)
    assert usages(quota_mta.redis, "c@d1.example") == (1, 1, 3)


def test_redis_override_lifts_configured_limit(quota_mta):
    quota_mta.redis.hset(level_key("limits", "sender", "s0@d0.example"),
                         "max_24h", -1)
    quota_mta.policyd(sender_max_24h="1")
    sub = quota_mta.submit("s0@d0.example",
                           [f"r{i}@dest.example" for i in range(3)])
    assert sub.rcpt == [OK, OK, OK]
    sub = quota_mta.submit("s1@d0.example", ["a@dest.example",
                                             "b@dest.example"])
    assert sub.rcpt == [OK, refused("b@dest.example", QUOTA)]


def test_redis_override_of_zero_refuses_all(quota_mta):
    quota_mta.redis.hset(level_key("limits", "domain", "d0.example"),
                         "max_24h", 0)
    quota_mta.policyd()
    sub = quota_mta.submit("s0@d0.example", ["r@dest.example"])
    assert sub.rcpt == [refused("r@dest.example", QUOTA)]
    assert usages(quota_mta.redis, "s0@d0.example") == (0, 0, 0)


def test_each_recipient_counts_as_one_message(quota_mta):
    quota_mta.policyd(sender_max_24h="4")
    sub = quota_mta.submit("s0@d0.example",
                           [f"r{i}@dest.example" for i in range(3)])
    assert sub.rcpt == [OK, OK, OK]
    sub = quota_mta.submit("s0@d0.example", ["x@dest.example",
                                             "y@dest.example"])
    assert sub.rcpt == [OK, refused("y@dest.example", QUOTA)]
    assert usages(quota_mta.redis, "s0@d0.example") == (4, 4, 4)
    assert len(quota_mta.sink.wait_recipients(1, sub.token)) == 1


def test_simulator_not_counted_against_daily_quota(quota_mta):
    quota_mta.policyd(sender_max_24h="1")
    sub = quota_mta.submit("s0@d0.example", [
        "r1@dest.example", "success@simulator.amazonses.com",
        "bounce@simulator.amazonses.com", "r2@dest.example"])
    assert sub.rcpt == [OK, OK, OK, refused("r2@dest.example", QUOTA)]
    assert usages(quota_mta.redis, "s0@d0.example") == (1, 1, 1)
    assert len(quota_mta.sink.wait_recipients(3, sub.token)) == 3


def test_rolling_window_releases_capacity(quota_mta):
    window = 3000
    quota_mta.policyd(quota_window="3s", sender_max_24h="2")
    sub = quota_mta.submit("s0@d0.example", ["a@dest.example",
                                             "b@dest.example",
                                             "c@dest.example"])
    assert sub.rcpt == [OK, OK, refused("c@dest.example", QUOTA)]
    assert usage(quota_mta.redis, "sender", "s0@d0.example", window) == 2
    # Every bucket of the window has been replaced after one window.
    time.sleep(window / 1000 + 0.5)
    assert usage(quota_mta.redis, "sender", "s0@d0.example", window) == 0
    sub = quota_mta.submit("s0@d0.example", ["c@dest.example",
                                             "d@dest.example",
                                             "e@dest.example"])
    assert sub.rcpt == [OK, OK, refused("e@dest.example", QUOTA)]
    assert usage(quota_mta.redis, "sender", "s0@d0.example", window) == 2
    assert sorted(quota_mta.sink.wait_recipients(2, sub.token)) == [
        "c@dest.example", "d@dest.example"]


@pytest.mark.parametrize("source", ["config", "redis"])
@pytest.mark.parametrize("level", LEVELS)
def test_rate_and_burst(quota_mta, level, source):
    """max_rate 1 with burst 3: three recipients at once, the fourth
    refused with the rate text and not counted."""
    sender = "s0@d0.example"
    if source == "config":
        quota_mta.policyd(**{f"{level}_max_rate": "1",
                             f"{level}_burst": "3"})
    else:
        quota_mta.redis.hset(level_key("limits", level, ident(level, sender)),
                             mapping={"max_rate": 1, "burst": 3})
        quota_mta.policyd()
    rcpts = [f"r{i}@dest.example" for i in range(4)]
    sub = quota_mta.submit(sender, rcpts)
    assert sub.rcpt == [OK, OK, OK, refused("r3@dest.example", RATE)]
    assert usages(quota_mta.redis, sender) == (3, 3, 3)
    assert quota_mta.redis.hget(f"{PREFIX}stats", "policyd:rate") == "1"
    assert sorted(quota_mta.sink.wait_recipients(3, sub.token)) == rcpts[:3]


def test_counts_are_checked_before_rates(quota_mta):
    """A recipient over both a daily quota and a rate gets the quota
    text."""
    quota_mta.policyd(sender_max_rate="1", sender_burst="1",
                      account_max_24h="1")
    sub = quota_mta.submit("s0@d0.example", ["a@dest.example",
                                             "b@dest.example"])
    assert sub.rcpt == [OK, refused("b@dest.example", QUOTA)]
