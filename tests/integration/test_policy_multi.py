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


ROUNDS = 4
CONNS = 32


def test_levels_exact_when_decided_together(redis_server, policyd_factory,
                                            policy_usage):
    """Many connections asking at the same moment are decided together
    (one script run for what one loop pass reads), one after another: the
    sender, domain and account limits hold exactly, an override included,
    and every refused recipient consumes nothing."""
    import socket
    redis_server.cli("SADD", "sesgate:identities", "multi.example")
    redis_server.cli("HSET", "sesgate:limits:sender:u0", "max_24h", "10")
    p = policyd_factory(policyd={"sender_max_24h": "8",
                                 "domain_max_24h": "30",
                                 "account_max_24h": "1000",
                                 "account_max_rate": "unlimited"})
    conns = [socket.create_connection(("127.0.0.1", p.port), timeout=10)
             for _ in range(CONNS)]
    files = [c.makefile("rb") for c in conns]
    got = []
    for r in range(ROUNDS):
        for k, c in enumerate(conns):
            c.sendall((f"request=smtpd_access_policy\nprotocol_state=RCPT\n"
                       f"client_address=127.0.0.1\nsasl_username=u{k % 4}\n"
                       f"sender=s{k}@multi.example\n"
                       f"recipient=r{r}.{k}@dest.example\n\n").encode())
        for f in files:
            line = f.readline().decode()
            assert f.readline() == b"\n"
            got.append(line[len("action="):].rstrip("\n"))
    for f, c in zip(files, conns):
        f.close()
        c.close()
    total = ROUNDS * CONNS
    assert got.count("DUNNO") == 30
    assert got.count(QUOTA) == total - 30
    users = [policy_usage("sender", f"u{u}") for u in range(4)]
    assert sum(users) == 30 and users[0] <= 10 and max(users[1:]) <= 8
    assert policy_usage("domain", "multi.example") == 30
    assert policy_usage("account") == 30
    stats = redis_server.client().hgetall("sesgate:stats")
    assert stats == {"policyd:accept": "30",
                     "policyd:quota": str(total - 30)}
