"""The Redis store as sesgate.conf names it: a unix socket with a database
number, a password and an ACL user in the URL, a key prefix of one's own,
and the decision script loaded again after SCRIPT FLUSH (NOSCRIPT)."""
from lab import RedisServer

REQ = dict(sender="a@ok.example", recipient="r@dest.example",
           sasl_username="alice")
UNVERIFIED = ("554 5.7.1 Message rejected: Email address is not verified. "
              "The following identities failed the check in region "
              "us-east-1: a@ok.example")


def test_unix_socket_and_database(tmp_path, policyd_factory):
    sock = str(tmp_path / "redis.sock")
    srv = RedisServer(tmp_path / "r", extra=["--unixsocket", sock,
                                             "--unixsocketperm", "700"])
    try:
        p = policyd_factory(redis_url=f"unix:{sock}?db=3")
        c = p.connect()
        assert c.ask(**REQ) == UNVERIFIED
        srv.cli("-n", "3", "SADD", "sesgate:identities", "ok.example")
        assert c.ask(**REQ) == "DUNNO"
        # Database 0 was never touched.
        assert srv.cli("-n", "0", "DBSIZE") == "(integer) 0"
        c.close()
    finally:
        srv.stop()


def test_password_and_acl_user_in_the_url(tmp_path, policyd_factory):
    srv = RedisServer(tmp_path / "r", extra=["--requirepass", "s3cr%t@x"])
    try:
        cli = ["-a", "s3cr%t@x", "--no-auth-warning"]
        srv.cli(*cli, "ACL", "SETUSER", "relay", "on", ">relay-pw",
                "~sesgate:*", "+@all")
        srv.cli(*cli, "SADD", "sesgate:identities", "ok.example")
        # '%' and '@' in a password are written percent-escaped.
        p = policyd_factory(
            redis_url=f"redis://:s3cr%25t%40x@127.0.0.1:{srv.port}/0")
        assert p.connect().ask(**REQ) == "DUNNO"
        # A user limited to the prefix runs every decision.
        q = policyd_factory(
            redis_url=f"redis://relay:relay-pw@127.0.0.1:{srv.port}/0")
        other = dict(REQ, recipient="s@dest.example")
        assert q.connect().ask(**other) == "DUNNO"
        # A wrong password is a store error, logged without the password.
        bad = policyd_factory(
            redis_url=f"redis://relay:wrong-pw@127.0.0.1:{srv.port}/0")
        assert bad.connect().ask(**REQ).startswith("DEFER_IF_PERMIT 4.3.0")
        assert "AUTH failed" in bad.logtext()
        assert "wrong-pw" not in bad.logtext()
    finally:
        srv.stop()


def test_key_prefix(redis_server, policyd_factory):
    redis_server.cli("SADD", "acme:identities", "ok.example")
    p = policyd_factory(redis={"prefix": "acme:"})
    assert p.connect().ask(**REQ) == "DUNNO"
    keys = redis_server.cli("--raw", "KEYS", "*").split()
    assert keys and all(k.startswith("acme:") for k in keys), keys


def test_script_loaded_again_after_flush(redis_server, policyd_factory):
    redis_server.cli("SADD", "sesgate:identities", "ok.example")
    p = policyd_factory()
    c = p.connect()
    assert c.ask(**REQ) == "DUNNO"
    redis_server.cli("SCRIPT", "FLUSH")
    assert c.ask(**dict(REQ, recipient="s@dest.example")) == "DUNNO"
    assert c.ask(**dict(REQ, recipient="t@dest.example")) == "DUNNO"
    assert redis_server.cli("HGET", "sesgate:stats",
                            "policyd:accept") == '"3"'
