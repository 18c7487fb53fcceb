"""sesgate-policyd behind Redis Sentinel: a master, a replica and a
Sentinel on loopback ports; the master is stopped, Sentinel promotes the
replica, and the daemon follows it: requests are decided again and their
writes land on the new master."""
import os
import subprocess
import time

import pytest

from conftest import RedisServer, free_port, stop_pid, wait_port

DEFER_IF_PERMIT = ("DEFER_IF_PERMIT 4.3.0 Sending limits cannot be checked "
                   "now; try again later")
SUPPRESSED = ("550 5.1.1 Address is on the suppression list (reason "
              "BOUNCE, since 2023-11-14T22:13:20Z)")


def cli(port, *args):
    out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
                         + list(args), capture_output=True, text=True,
                         timeout=10)
    return out.stdout.strip()


def wait_for(pred, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


class Sentinel:
    def __init__(self, tmpdir, master_port):
        self.dir = str(tmpdir)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "sentinel.conf")
        with open(self.conf, "w") as f:
            f.write(f"port {self.port}\n"
                    "bind 127.0.0.1\n"
                    "protected-mode no\n"
                    "daemonize no\n"
                    f"dir {self.dir}\n"
                    f"logfile {self.dir}/sentinel.log\n"
                    f"sentinel monitor mymaster 127.0.0.1 {master_port} 1\n"
                    "sentinel down-after-milliseconds mymaster 1000\n"
                    "sentinel failover-timeout mymaster 5000\n"
                    "sentinel parallel-syncs mymaster 1\n")
        self.proc = subprocess.Popen(["redis-sentinel", self.conf],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port, proc=self.proc)

    def master_port(self):
        out = cli(self.port, "sentinel", "get-master-addr-by-name",
                  "mymaster").split()
        return int(out[1]) if len(out) == 2 else None

    def stop(self):
        stop_pid(self.proc)


@pytest.fixture
def cluster(tmp_path):
    master = RedisServer(tmp_path / "master")
    replica = RedisServer(tmp_path / "replica",
                          extra=["--replicaof", "127.0.0.1",
                                 str(master.port)])
    sentinel = None
    try:
        assert wait_for(lambda: "master_link_status:up" in
                        cli(replica.port, "info", "replication"), 15)
        sentinel = Sentinel(tmp_path / "sentinel", master.port)
        # Sentinel learns of the replica from the master's INFO.
        assert wait_for(lambda: str(replica.port) in
                        cli(sentinel.port, "sentinel", "replicas",
                            "mymaster"), 15)
        yield master, replica, sentinel
    finally:
        if sentinel is not None:
            sentinel.stop()
        replica.stop()
        master.stop()


def ask(c, recipient, sender="a@ok.example"):
    return c.ask(sasl_username="alice", sender=sender, recipient=recipient)


def test_failover_is_followed(cluster, policyd_factory, policy_usage):
    master, replica, sentinel = cluster
    m = master.client()
    m.sadd("sesgate:identities", "ok.example")
    m.hset("sesgate:suppression:gone@dest.example",
           mapping={"reason": "BOUNCE", "time": "1700000000"})
    # The first Sentinel listed is down: the next one is asked.
    dead = free_port()
    url = f"sentinel://127.0.0.1:{dead},127.0.0.1:{sentinel.port}/mymaster"
    p = policyd_factory(redis_url=url,
                        policyd={"account_max_rate": "unlimited"},
                        redis={"timeout": "250ms",
                               "connect_timeout": "500ms"})
    c = p.connect()
    assert wait_for(lambda: ask(c, "first@dest.example") == "DUNNO", 10)
    for i in range(9):
        assert ask(c, f"b{i}@dest.example") == "DUNNO"
    assert ask(c, "gone@dest.example") == SUPPRESSED
    assert ask(c, "x@dest.example", sender="x@unknown.example") \
        .startswith("554 5.7.1 ")
    before = policy_usage("account", client=m)
    assert before >= 10
    # Every write is on the replica before the master goes.
    assert m.execute_command("WAIT", 1, 5000) == 1
    assert policy_usage("account", client=replica.client()) == before

    master.stop()
    assert wait_for(lambda: sentinel.master_port() == replica.port, 30), \
        "Sentinel did not promote the replica"
    assert cli(replica.port, "role").split()[0] == "master"

    # During the failover the store-error answer is the only other one.
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        a = ask(c, f"f{len(seen)}@dest.example")
        seen.append(a)
        if a != DEFER_IF_PERMIT:
            break
        time.sleep(0.2)
    assert seen[-1] == "DUNNO", seen
    assert set(seen[:-1]) <= {DEFER_IF_PERMIT}

    # Decisions now read and write the new master.
    r = replica.client()
    assert ask(c, "gone@dest.example") == SUPPRESSED
    for i in range(5):
        assert ask(c, f"a{i}@dest.example") == "DUNNO"
    c.close()
    assert policy_usage("account", client=r) == before + 1 + 5
    assert policy_usage("sender", "alice", client=r) == before + 1 + 5
    assert "reachable again" in p.logtext()
    assert p.proc.poll() is None


def test_sentinel_that_does_not_know_the_master(cluster, policyd_factory):
    _, _, sentinel = cluster
    p = policyd_factory(
        redis_url=f"sentinel://127.0.0.1:{sentinel.port}/othermaster",
        policyd={"account_max_rate": "unlimited"},
        redis={"timeout": "250ms"})
    c = p.connect()
    assert [ask(c, f"r{i}@dest.example") for i in range(3)] == \
        [DEFER_IF_PERMIT] * 3
    c.close()
    assert wait_for(lambda: "does not know master \"othermaster\"" in
                    p.logtext(), 5)
    assert p.proc.poll() is None
