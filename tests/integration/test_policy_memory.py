"""The Redis memory a sender costs is bounded by the window's bucket count
and does not grow with the number of recipients it sends."""


def send(client, n, start=0, sasl="alice"):
    answers = set()
    for i in range(start, start + n):
        answers.add(client.ask(sender="a@mem.example", sasl_username=sasl,
                               recipient=f"r{i}@dest.example"))
    return answers


def usage_bytes(redis_server, key):
    out = redis_server.cli("MEMORY", "USAGE", key, "SAMPLES", "0")
    return int(out.split()[-1])


def test_sender_memory_does_not_grow_with_volume(redis_server,
                                                 policyd_factory,
                                                 policy_usage):
    redis_server.cli("SADD", "sesgate:identities", "mem.example")
    p = policyd_factory(policyd={"account_max_24h": "unlimited",
                                 "account_max_rate": "unlimited"})
    c = p.connect()
    key = "sesgate:usage:sender:alice"
    assert send(c, 10) == {"DUNNO"}
    small = usage_bytes(redis_server, key)
    assert send(c, 2000, start=10) == {"DUNNO"}
    large = usage_bytes(redis_server, key)
    c.close()
    assert policy_usage("sender", "alice") == 2010
    # 200 times the volume in the same bucket: not one byte more.
    assert large == small
    # The key never holds more than its 28-byte header and 1,440 4-byte
    # buckets (24 h window), whatever slot the current bucket is.
    assert int(redis_server.cli("STRLEN", key).split()[-1]) <= 28 + 1440 * 4
    assert large <= 28 + 1440 * 4 + 128
    # Idle keys expire: at most one window and one bucket from now.
    ttl = int(redis_server.cli("PTTL", key).split()[-1])
    assert 0 < ttl <= 86400000 + 60000
