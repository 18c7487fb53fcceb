"""Several sesgate-policyd processes share one Redis: a quota holds
across all of them exactly, whatever daemon a request reaches."""
import threading

QUOTA = "454 4.7.0 Throttling failure: Daily message quota exceeded."
DAEMONS = 4
THREADS = 8
REQUESTS = 1000
LIMIT = 500


def test_account_quota_is_exact_across_daemons(redis_server, policyd_factory,
                                               policy_usage):
    redis_server.cli("SADD", "sesgate:identities", "multi.example")
    conf = {"account_max_24h": str(LIMIT), "account_max_rate": "unlimited"}
    daemons = [policyd_factory(policyd=conf) for _ in range(DAEMONS)]
    replies = [[] for _ in range(THREADS)]
    errors = []

    def client(k):
        try:
            c = daemons[k % DAEMONS].connect()
            try:
                for i in range(k, REQUESTS, THREADS):
                    replies[k].append(c.ask(
                        sasl_username=f"user{k % 3}",
                        sender=f"s{k}@multi.example",
                        recipient=f"r{i}@dest.example"))
            finally:
                c.close()
        except Exception as e:      # reported below, not lost in a thread
            errors.append(f"client {k}: {e!r}")

    threads = [threading.Thread(target=client, args=(k,))
               for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a client hung"
    assert errors == []
    every = [a for r in replies for a in r]
    assert len(every) == REQUESTS
    assert every.count("DUNNO") == LIMIT
    assert every.count(QUOTA) == REQUESTS - LIMIT
    assert policy_usage("account") == LIMIT
    assert policy_usage("domain", "multi.example") == LIMIT
    assert sum(policy_usage("sender", f"user{u}") for u in range(3)) == LIMIT
    stats = redis_server.client().hgetall("sesgate:stats")
    assert stats == {"policyd:accept": str(LIMIT),
                     "policyd:quota": str(REQUESTS - LIMIT)}
    for p in daemons:
        assert p.proc.poll() is None
        assert p.logtext().count("decision=") > 0
