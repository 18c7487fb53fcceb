"""Runs the transcripts in tests/policyd/: each <behaviour>.in is played
against a fresh sesgate-policyd and Redis, and the transcript must equal
<behaviour>.ref byte for byte.

Format of a .in file:
    # comment                    skipped
    % section key = value        configuration of the daemon (top only)
    ! COMMAND                    a redis-cli command line, run before the
                                 request that follows (keys spelled with the
                                 default prefix "sesgate:"); redis-cli's
                                 quoting: "a b", "\r\n" and "\xff" work
    name=value                   an attribute line, sent as written
    (empty line)                 ends a request

The transcript echoes every redis-cli line as "! COMMAND", every request
line as ">>> line", then the reply line, then an empty line.

SESGATE_WRITE_REF=1 writes the .ref files instead of comparing; review the
result like code before keeping it.
"""
import glob
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(os.path.dirname(HERE), "policyd")


def parse_case(path):
    """Returns (conf, steps); conf is {section: {key: value}}, steps a list
    of (setup commands, request lines)."""
    conf, steps = {}, []
    setup, lines = [], []
    with open(path) as f:
        text = f.read()
    for raw in text.split("\n"):
        if raw.startswith("#"):
            continue
        if raw.startswith("%"):
            assert not steps and not lines and not setup, \
                f"{path}: configuration lines go at the top"
            sec, _, kv = raw[1:].strip().partition(" ")
            key, _, value = kv.partition("=")
            conf.setdefault(sec, {})[key.strip()] = value.strip()
            continue
        if raw.startswith("!"):
            assert not lines, f"{path}: redis-cli line inside a request"
            setup.append(raw[1:].strip())
            continue
        if raw == "":
            if lines:
                steps.append((setup, lines))
                setup, lines = [], []
            continue
        lines.append(raw)
    assert not lines, f"{path}: last request not ended by an empty line"
    assert not setup, f"{path}: redis-cli lines after the last request"
    return conf, steps


def redis_command(redis_server, command):
    """Runs one command line through redis-cli, which parses its quoting;
    a Redis error fails the case."""
    r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p",
                        str(redis_server.port)], input=command + "\n",
                       capture_output=True, text=True, check=True)
    assert not r.stdout.startswith(("ERR", "WRONGTYPE", "(error)")), \
        f"redis-cli {command}: {r.stdout.strip()}"


def read_reply(rfile):
    line = rfile.readline().decode("utf-8", "replace")
    blank = rfile.readline().decode("utf-8", "replace")
    assert blank == "\n", f"reply not ended by an empty line: {blank!r}"
    return line.rstrip("\n")


def run_case(path, redis_server, policyd_factory):
    conf, steps = parse_case(path)
    p = policyd_factory(policyd=conf.get("policyd"), redis=conf.get("redis"),
                        glob=conf.get("global"))
    client = p.connect()
    out = []
    try:
        for setup, lines in steps:
            for command in setup:
                redis_command(redis_server, command)
                out.append("! " + command)
            for line in lines:
                out.append(">>> " + line)
            client.sock.sendall(("\n".join(lines) + "\n\n").encode())
            out.append(read_reply(client.rfile))
            out.append("")
    finally:
        client.close()
    return "\n".join(out)


@pytest.mark.parametrize(
    "case", sorted(os.path.basename(p)[:-3]
                   for p in glob.glob(os.path.join(CASES, "*.in"))))
def test_policy_case(case, redis_server, policyd_factory):
    got = run_case(os.path.join(CASES, case + ".in"), redis_server,
                   policyd_factory)
    ref = os.path.join(CASES, case + ".ref")
    if os.environ.get("SESGATE_WRITE_REF") == "1":
        with open(ref, "w") as f:
            f.write(got)
        return
    with open(ref) as f:
        want = f.read()
    assert got == want, f"{case}: transcript differs from {case}.ref"
