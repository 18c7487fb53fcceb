"""The example scripts in contrib/scripts/ use only redis-cli and the
schema of sesgate-redis(7); what they write is what sesgatectl and
sesgate-policyd read, and what they read is what sesgatectl reports.
"""
import hashlib
import hmac
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import TOP
from test_ctl import EX_DATAERR, EX_USAGE, Ctl

SCRIPTS = os.path.join(TOP, "contrib", "scripts")


def run_script(redis_server, name, *args, **env):
    e = dict(os.environ,
             REDIS_CLI_ARGS=f"-h 127.0.0.1 -p {redis_server.port}", **env)
    return subprocess.run([os.path.join(SCRIPTS, name)] + list(args),
                          capture_output=True, text=True, env=e, timeout=60)


def test_suppress_address_is_seen_by_sesgatectl_and_policyd(
        tmp_path, redis_server, policyd_factory):
    r = redis_server.client()
    res = run_script(redis_server, "suppress-address.sh",
                     " <Carol@Example.COM.> ", "complaint")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "suppressed carol@example.com (COMPLAINT)\n"
    h = r.hgetall("sesgate:suppression:carol@example.com")
    assert set(h) == {"reason", "time", "source"}
    assert h["reason"] == "COMPLAINT" and h["source"] == "admin"
    assert r.zscore("sesgate:suppressed", "carol@example.com") == \
        float(h["time"])

    ctl = Ctl(tmp_path, redis_server.url)
    got = ctl.json("suppression", "get", "carol@example.com")
    assert got == [{"address": "carol@example.com", "reason": "COMPLAINT",
                    "time": int(h["time"]), "source": "admin",
                    "expires": 0}]
    assert [e["address"] for e in ctl.json("suppression", "list")] == \
        ["carol@example.com"]

    r.sadd("sesgate:identities", "verified.example")
    pd = policyd_factory()
    c = pd.connect()
    try:
        reply = c.ask(sender="a@verified.example",
                      recipient="carol@example.com")
    finally:
        c.close()
    # The wording is sesgate-policyd's; the entry is found.
    assert reply.startswith("550 5.1.1 "), reply
    assert "suppression list (reason COMPLAINT, since " in reply, reply


def test_suppress_address_honours_prefix(tmp_path, redis_server):
    r = redis_server.client()
    res = run_script(redis_server, "suppress-address.sh", "d@example.com",
                     "BOUNCE", PREFIX="relay1:")
    assert res.returncode == 0, res.stderr
    assert sorted(r.keys("*")) == ["relay1:suppressed",
                                   "relay1:suppression:d@example.com"]
    ctl = Ctl(tmp_path, redis_server.url, redis={"prefix": "relay1:"})
    assert ctl.json("suppression", "get", "d@example.com")[0]["reason"] == \
        "BOUNCE"


@pytest.mark.skipif(shutil.which("openssl") is None,
                    reason="openssl command missing")
def test_suppress_address_in_privacy_mode(tmp_path, redis_server):
    r = redis_server.client()
    res = run_script(redis_server, "suppress-address.sh", "E@Example.com",
                     "BOUNCE", HASH_KEY="k3y")
    assert res.returncode == 0, res.stderr
    digest = hmac.new(b"k3y", b"e@example.com", hashlib.sha256).hexdigest()
    assert r.zrange("sesgate:suppressed", 0, -1) == [digest]
    ctl = Ctl(tmp_path, redis_server.url,
              redis={"suppression_hash_key": "k3y"})
    assert ctl.json("suppression", "get", "e@example.com")[0]["hash"] == \
        digest


@pytest.mark.parametrize("args,code", [
    (["nobody", "BOUNCE"], EX_DATAERR),
    (["@example.com", "BOUNCE"], EX_DATAERR),
    (["a@.example.com", "BOUNCE"], EX_DATAERR),
    (["a\n@example.com", "BOUNCE"], EX_DATAERR),
    (["a@example.com", "SPAM"], EX_DATAERR),
    (["a@example.com"], EX_USAGE)])
def test_suppress_address_refuses_bad_input(redis_server, args, code):
    res = run_script(redis_server, "suppress-address.sh", *args)
    assert res.returncode == code
    assert redis_server.client().keys("*") == []


def test_sender_usage_matches_sesgatectl(tmp_path, redis_server,
                                         policyd_factory):
    r = redis_server.client()
    r.sadd("sesgate:identities", "verified.example")
    pd = policyd_factory()
    c = pd.connect()
    try:
        for user, n in (("alice", 3), ("bob", 1)):
            for i in range(n):
                assert c.ask(sender="a@verified.example",
                             sasl_username=user,
                             recipient=f"r{i}@dest.example") == "DUNNO"
    finally:
        c.close()
    res = run_script(redis_server, "sender-usage.sh")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "alice\t3\nbob\t1\n"
    ctl = Ctl(tmp_path, redis_server.url)
    for user, n in (("alice", 3), ("bob", 1)):
        assert ctl.json("quota", "usage", "sender", user)[0][
            "recipients"] == n


def usage_layout():
    """(total, ring) BITFIELD u32 offsets of a usage key, as the header of
    lib/sesgate.lua documents them."""
    with open(os.path.join(TOP, "lib", "sesgate.lua")) as f:
        head = f.read(4000)
    assert re.search(r"i64 #0\s+last:", head), "layout of last changed"
    total = re.search(r"u32 #(\d+)\s+total:", head)
    ring = re.search(r"u32 #(\d+)\+i\s", head)
    assert total and ring, "usage key layout not found in sesgate.lua"
    return int(total.group(1)), int(ring.group(1))


def set_usage(r, key, last, total, slots):
    t, ring = usage_layout()
    args = ["SET", "i64", "#0", last, "SET", "u32", f"#{t}", total]
    for slot, v in slots.items():
        args += ["SET", "u32", f"#{ring + slot}", v]
    r.execute_command("BITFIELD", key, *args)


def test_sender_usage_drops_buckets_that_left_the_window(tmp_path,
                                                         redis_server):
    """Counters as the decision script leaves them: one sender whose
    newest bucket is three buckets old (the three slots since hold counts
    of the previous turn of the ring), one idle for a whole window, one
    current. The script and sesgatectl agree with the layout."""
    r = redis_server.client()
    ctl = Ctl(tmp_path, redis_server.url)
    bucket, n = 60000, 1440
    for _ in range(3):
        cur = int(time.time() * 1000) // bucket
        set_usage(r, "sesgate:usage:sender:old", cur - 3, 10,
                  {(cur - 2) % n: 2, (cur - 1) % n: 1, cur % n: 4})
        set_usage(r, "sesgate:usage:sender:idle", cur - n, 7, {})
        set_usage(r, "sesgate:usage:sender:now", cur, 5, {cur % n: 5})
        res = run_script(redis_server, "sender-usage.sh")
        got = {u: ctl.json("quota", "usage", "sender", u)[0]["recipients"]
               for u in ("old", "idle", "now")}
        if int(time.time() * 1000) // bucket == cur:
            break       # no bucket boundary passed while reading
    assert res.returncode == 0, res.stderr
    assert res.stdout == "idle\t0\nnow\t5\nold\t3\n"
    assert got == {"old": 3, "idle": 0, "now": 5}
