"""Fixtures of the integration tests, built on lab.py (a private
redis-server, the sesgate programs, a sesgate.conf writer, a policy
protocol client) and postfix.py (a private Postfix and an SMTP sink).
"""
import os

import pytest

from lab import (BUILD, POLICYD, SESGATECTL, TOP, PolicyClient,  # noqa: F401
                 PolicyD, RedisServer, free_port, stop_pid, usage,
                 wait_port, write_conf)


@pytest.fixture
def redis_server(tmp_path):
    srv = RedisServer(tmp_path / "redis")
    yield srv
    srv.stop()


@pytest.fixture
def policyd_factory(tmp_path, redis_server):
    started = []

    def make(**kw):
        kw.setdefault("redis_url", redis_server.url)
        p = PolicyD(tmp_path / f"policyd{len(started)}", **kw)
        started.append(p)
        return p
    yield make
    for p in started:
        p.stop()


@pytest.fixture
def policy_usage(redis_server):
    """usage(level, id=None, window_ms=86400000, prefix="sesgate:",
    client=None): lab.usage() on redis_server unless another client is
    given."""
    def read(level, ident=None, window_ms=86400000, prefix="sesgate:",
             client=None):
        return usage(client or redis_server.client(), level, ident,
                     window_ms, prefix)
    return read


# A private Postfix instance (tests/integration/postfix.py), started once
# per test module, relaying to a local SMTP sink and asking the policy
# service on its own fixed loopback port.

SASL_USERS = {"alice": "alice-secret", "bob": "bob-secret"}


@pytest.fixture(scope="module")
def postfix_mta():
    from postfix import Postfix, SmtpSink
    sink = SmtpSink()
    pf = None
    try:
        pf = Postfix(sink, policy_port=free_port(),
                     smtpd_port=free_port(), sasl_users=SASL_USERS)
        pf.start()
        yield pf
    finally:
        if pf is not None:
            pf.stop()
        sink.close()


@pytest.fixture
def mta_policyd(postfix_mta, policyd_factory):
    """Starts sesgate-policyd on the port the module's Postfix asks:
    mta_policyd(policyd={...}, redis={...}, glob={...})."""
    def start(**kw):
        return policyd_factory(port=postfix_mta.policy_port, **kw)
    return start


@pytest.fixture
def mta(postfix_mta, mta_policyd, redis_server):
    """The module's Postfix with a fresh Redis holding the verified
    identities verified.example (a domain) and only@address.example (an
    address). mta.policyd(glob=, redis=, **policyd_keys) starts the policy
    service in region eu-west-1 with no account rate limit (the default
    14/s would throttle tests sending many recipients) unless given."""
    from postfix import PREFIX, REGION, PolicyMta
    r = redis_server.client()
    r.sadd(f"{PREFIX}identities", "verified.example", "only@address.example")

    def policyd(glob=None, redis=None, **pol):
        conf = {"account_max_rate": "unlimited"}
        conf.update(pol)
        return mta_policyd(policyd=conf, redis=redis,
                           glob=dict({"region": REGION}, **(glob or {})))
    return PolicyMta(postfix_mta, r, policyd)
