"""The Redis memory a sender costs is bounded by the window's bucket count
and does not grow with the number of recipients it sends."""
import pytest


def send(client, n, start=0, sasl="alice"):
    answers = set()
    for i in range(start, start + n):
        answers.add(client.ask(sender="a@mem.example", sasl_username=sasl,
                               recipient=f"r{i}@dest.example"))
    return answers


def sender_bytes(redis_server, sasl="alice"):
    total = 0
    for key in (f"sesgate:usage:sender:{sasl}", f"sesgate:ring:sender:{sasl}"):
        out = redis_server.cli("MEMORY", "USAGE", key, "SAMPLES", "0")
        total += int(out.split()[-1]) if out and "nil" not in out else 0
    return total


def test_sender_memory_does_not_grow_with_volume(redis_server,
                                                 policyd_factory):
    redis_server.cli("SADD", "sesgate:identities", "mem.example")
    p = policyd_factory(policyd={"account_max_24h": "unlimited",
                                 "account_max_rate": "unlimited"})
    c = p.connect()
    assert send(c, 10) == {"DUNNO"}
    small = sender_bytes(redis_server)
    assert send(c, 2000, start=10) == {"DUNNO"}
    large = sender_bytes(redis_server)
    c.close()
    assert redis_server.cli("HGET", "sesgate:usage:sender:alice",
                            "total") == '"2010"'
    # Same bucket, same slots: 200 times the volume, the same bytes.
    assert large == small
    # 24 h window: 1,440 buckets of 4 bytes at most, plus the hash.
    assert large <= 1440 * 4 + 512


def test_ring_is_bounded_by_bucket_count(redis_server, policyd_factory):
    """Whatever slot a bucket lands in, the ring never exceeds 4 bytes per
    bucket: write the last slot of a 24 h ring directly and compare."""
    redis_server.cli("SADD", "sesgate:identities", "mem.example")
    p = policyd_factory()
    c = p.connect()
    assert send(c, 1, sasl="bob") == {"DUNNO"}
    c.close()
    redis_server.cli("BITFIELD", "sesgate:ring:sender:bob", "SET", "u32",
                     "#1439", "0")
    assert int(redis_server.cli("STRLEN", "sesgate:ring:sender:bob")
               .split()[-1]) == 1440 * 4
