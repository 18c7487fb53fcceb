"""sesgate-feedbackd receiving SNS notifications over HTTP: every kind of
SES event, signed with SignatureVersion 1 and 2 by a test SNS signing
certificate, POSTed to the daemon, with the exact Redis effects; forged
and malformed messages refused with the exact status and nothing stored;
a repeated message taking effect once.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from feedback import (CERT_NAME, FEEDBACKD, SES_ID, TOPIC, FeedbackD,
                      SnsHost, SnsSigner, bounce, complaint, event)
from lab import (RedisServer, free_port, rss_kb, under_asan, wait_for,
                 write_conf)

P = "sesgate:"


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    return SnsSigner(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    r = RedisServer(tmp_path_factory.mktemp("redis"))
    yield r
    r.stop()


@pytest.fixture(scope="module")
def fd(tmp_path_factory, redis, signer):
    d = FeedbackD(tmp_path_factory.mktemp("feedbackd"), redis.url,
                  signer.dir)
    yield d
    d.stop()


@pytest.fixture
def r(redis):
    c = redis.client()
    c.flushdb()
    return c


def stats(r):
    return {k: int(v) for k, v in r.hgetall(f"{P}stats").items()}


def entry(r, addr):
    return r.hgetall(f"{P}suppression:{addr}")


def nothing_stored(r):
    return sorted(r.keys("*")) == []


@pytest.mark.parametrize("version", [1, 2])
def test_permanent_bounce_suppresses_every_recipient(fd, signer, r,
                                                     version):
    ev = bounce([("a@dest.example", "smtp; 550 5.1.1 user unknown"),
                 "B@Dest.Example"])
    assert fd.post(signer.notification(ev, version=version)) == \
        (200, "stored")
    a = entry(r, "a@dest.example")
    assert a.pop("time").isdigit()
    assert a == {"reason": "BOUNCE", "source": "feedback",
                 "bounce_type": "Permanent", "bounce_subtype": "General",
                 "diagnostic": "smtp; 550 5.1.1 user unknown",
                 "feedback_id": "0100018c-feedback-bounce-000000",
                 "message_id": SES_ID}
    b = entry(r, "b@dest.example")
    # Empty fields are left out of an entry (sesgate-redis(7)).
    assert (b["reason"], b.get("diagnostic")) == ("BOUNCE", None)
    assert sorted(r.zrange(f"{P}suppressed", 0, -1)) == \
        ["a@dest.example", "b@dest.example"]
    assert stats(r) == {"feedbackd:bounce_permanent": 2}
    assert f"event=Bounce/Permanent recipients=2 suppressed=2" in \
        fd.logtext()


def test_with_subject_signed(fd, signer, r):
    body = signer.notification(bounce(["s@dest.example"]),
                               subject="Amazon SES Email Event")
    assert fd.post(body) == (200, "stored")
    assert entry(r, "s@dest.example")["reason"] == "BOUNCE"


def test_effects_are_attributed_to_account_sender_and_domain(fd, signer,
                                                            r):
    """mail.source is app@sender.example in every test event."""
    assert fd.post(signer.notification(bounce(
        ["a1@dest.example", "a2@dest.example"]))) == (200, "stored")
    assert fd.post(signer.notification(complaint(["a3@dest.example"]))) \
        == (200, "stored")
    want = {"feedbackd:bounce_permanent": "2", "feedbackd:complaint": "1"}
    assert r.hgetall(f"{P}feedback:account") == want
    assert r.hgetall(f"{P}feedback:sender:app@sender.example") == want
    assert r.hgetall(f"{P}feedback:domain:sender.example") == want


def test_same_message_twice_takes_effect_once(fd, signer, r):
    body = signer.notification(bounce(["twice@dest.example"]))
    assert fd.post(body) == (200, "stored")
    r.delete(f"{P}suppression:twice@dest.example")
    assert fd.post(body) == (200, "repeat")
    assert entry(r, "twice@dest.example") == {}
    assert stats(r) == {"feedbackd:bounce_permanent": 1}
    seen = r.keys(f"{P}feedback:seen:*")
    assert len(seen) == 1
    assert 0 < r.pttl(seen[0]) <= 7 * 86400 * 1000


@pytest.mark.parametrize("btype,subtype,counter", [
    ("Transient", "MailboxFull", "feedbackd:bounce_transient"),
    ("Undetermined", "Undetermined", "feedbackd:bounce_undetermined"),
])
def test_soft_bounces_are_counted_not_suppressed(fd, signer, r, btype,
                                                 subtype, counter):
    ev = bounce(["soft@dest.example"], btype, subtype)
    assert fd.post(signer.notification(ev)) == (200, "stored")
    assert entry(r, "soft@dest.example") == {}
    assert stats(r) == {counter: 1}


@pytest.mark.parametrize("form", ["notification", "event"])
def test_complaint_suppresses(fd, signer, r, form):
    ev = complaint(["c@dest.example"], "abuse", form)
    assert fd.post(signer.notification(ev)) == (200, "stored")
    c = entry(r, "c@dest.example")
    assert (c["reason"], c["feedback_type"], c.get("bounce_type")) == \
        ("COMPLAINT", "abuse", None)
    assert stats(r) == {"feedbackd:complaint": 1}


def test_complaint_without_feedback_type_suppresses(fd, signer, r):
    ev = complaint(["n@dest.example"], None)
    assert fd.post(signer.notification(ev)) == (200, "stored")
    assert entry(r, "n@dest.example")["reason"] == "COMPLAINT"


def test_not_spam_feedback_is_not_a_complaint(fd, signer, r):
    ev = complaint(["ns@dest.example"], "not-spam")
    assert fd.post(signer.notification(ev)) == (200, "stored")
    assert entry(r, "ns@dest.example") == {}
    assert stats(r) == {"feedbackd:complaint_not_spam": 1}


def test_event_form_bounce(fd, signer, r):
    ev = bounce(["ev@dest.example"], form="event")
    assert fd.post(signer.notification(ev, version=1)) == (200, "stored")
    assert entry(r, "ev@dest.example")["reason"] == "BOUNCE"


@pytest.mark.parametrize("kind,rcpts,counter,n", [
    ("Delivery", ["d1@dest.example", "d2@dest.example"],
     "feedbackd:delivery", 2),
    ("Send", [], "feedbackd:send", 1),
    ("Reject", [], "feedbackd:reject", 1),
    ("DeliveryDelay", ["late@dest.example"], "feedbackd:deliverydelay", 1),
    ("Open", [], "feedbackd:open", 1),
    ("Click", [], "feedbackd:click", 1),
    ("Rendering Failure", [], "feedbackd:rendering_failure", 1),
])
def test_other_events_are_counted(fd, signer, r, kind, rcpts, counter, n):
    assert fd.post(signer.notification(event(kind, rcpts))) == \
        (200, "stored")
    assert stats(r) == {counter: n}
    assert r.zcard(f"{P}suppressed") == 0


def test_delivery_notification_form(fd, signer, r):
    ev = event("Delivery", ["x@dest.example"])
    ev["notificationType"] = ev.pop("eventType")
    assert fd.post(signer.notification(ev)) == (200, "stored")
    assert stats(r) == {"feedbackd:delivery": 1}


def test_subscription_confirmation_is_logged(fd, signer, r):
    assert fd.post(signer.confirmation()) == (200, "logged")
    assert "subscription to arn:aws:sns:us-east-1:123456789012:" \
        "ses-feedback; confirm it by fetching https://sns.us-east-1." \
        "amazonaws.com/?Action=ConfirmSubscription&Token=2336" in \
        fd.logtext()
    assert fd.post(signer.confirmation("UnsubscribeConfirmation")) == \
        (200, "logged")
    assert nothing_stored(r)


def test_subscription_with_a_foreign_subscribe_url(fd, signer, r):
    env = json.loads(signer.confirmation())
    env["SubscribeURL"] = "https://evil.example/?Action=ConfirmSubscription"
    body = json.dumps(signer.sign(env, 2)).encode()
    assert fd.post(body) == (400, "bad SubscribeURL")
    assert "evil.example" not in fd.logtext().split("SubscribeURL")[-1] \
        or "is not an https URL of an SNS host" in fd.logtext()
    assert nothing_stored(r)


def test_ses_subscription_note_is_logged(fd, signer, r):
    """SES's note when a topic is attached to an identity."""
    note = {"notificationType": "AmazonSnsSubscriptionSucceeded",
            "message": "You have successfully subscribed your Amazon SNS "
                       "topic to receive 'Bounce' notifications."}
    assert fd.post(signer.notification(note)) == (200, "logged")
    assert nothing_stored(r)


# -- refused: nothing stored -------------------------------------------

def tampered(signer):
    env = json.loads(signer.notification(bounce(["t@dest.example"])))
    env["Message"] = env["Message"].replace("t@dest", "u@dest")
    return json.dumps(env).encode()


def other_key(signer):
    key = rsa.generate_private_key(65537, 2048)
    env = {"Type": "Notification", "MessageId": str(uuid.uuid4()),
           "TopicArn": TOPIC, "Message": json.dumps(bounce(
               ["k@dest.example"])),
           "Timestamp": "2026-12-02T10:00:00.000Z"}
    return json.dumps(signer.sign(env, 2, key=key)).encode()


def with_url(signer, url):
    env = {"Type": "Notification", "MessageId": str(uuid.uuid4()),
           "TopicArn": TOPIC, "Message": json.dumps(bounce(
               ["url@dest.example"])),
           "Timestamp": "2026-12-02T10:00:00.000Z",
           "SigningCertURL": url}
    return json.dumps(signer.sign(env, 2)).encode()


def with_field(signer, **over):
    env = json.loads(signer.notification(bounce(["f@dest.example"])))
    env.update(over)
    return json.dumps(env).encode()


REFUSED = [
    ("tampered Message", tampered, 403, "bad signature"),
    ("signed by another key", other_key, 403, "bad signature"),
    ("http URL", lambda s: with_url(
        s, f"http://sns.us-east-1.amazonaws.com/{CERT_NAME}"),
     400, "bad SigningCertURL"),
    ("look-alike host", lambda s: with_url(
        s, "https://sns.us-east-1.amazonaws.com.evil.example/"
        f"{CERT_NAME}"), 400, "bad SigningCertURL"),
    ("userinfo host", lambda s: with_url(
        s, f"https://sns.us-east-1.amazonaws.com@evil.example/{CERT_NAME}"),
     400, "bad SigningCertURL"),
    ("not .pem", lambda s: with_url(
        s, "https://sns.us-east-1.amazonaws.com/cert.txt"),
     400, "bad SigningCertURL"),
    # Not refused for good: SNS retries while the certificate is added.
    ("unknown certificate", lambda s: with_url(
        s, "https://sns.us-east-1.amazonaws.com/Other-1.pem"),
     503, "unknown signing certificate"),
    ("SignatureVersion 3", lambda s: with_field(s, SignatureVersion="3"),
     403, "bad signature"),
    ("bad base64", lambda s: with_field(s, Signature="!!not base64!!"),
     403, "bad signature"),
    ("no Signature", lambda s: json.dumps({
        k: v for k, v in json.loads(s.notification(bounce(
            ["ns@dest.example"]))).items() if k != "Signature"}).encode(),
     400, "not an SNS message"),
    ("malformed JSON", lambda s: b'{"Type": "Notification", ', 400,
     "not an SNS message"),
    ("not an object", lambda s: b'["Notification"]', 400,
     "not an SNS message"),
    ("empty body", lambda s: b"", 400, "not an SNS message"),
    ("unknown Type", lambda s: with_field(s, Type="Other"), 400,
     "not an SNS message"),
]


@pytest.mark.parametrize("name,make,status,text", REFUSED,
                         ids=[c[0] for c in REFUSED])
def test_refused_and_nothing_stored(fd, signer, r, name, make, status,
                                    text):
    assert fd.post(make(signer)) == (status, text)
    assert nothing_stored(r)


def test_bad_input_keeps_memory_bounded(fd, signer, r):
    """1,400 refused requests of every kind on one daemon: each answered
    with its status, nothing stored, the daemon alive and serving, and
    (without ASan's quarantine) its memory back where it was."""
    bodies = [(make(signer), status, text)
              for _, make, status, text in REFUSED]
    for body, status, text in bodies * 10:
        assert fd.post(body) == (status, text)
    before = rss_kb(fd.proc.pid)
    for body, status, text in bodies * 90:
        assert fd.post(body) == (status, text)
    after = rss_kb(fd.proc.pid)
    assert nothing_stored(r)
    assert fd.proc.poll() is None
    assert fd.post(signer.notification(bounce(["ok@dest.example"]))) \
        == (200, "stored")
    if not under_asan(fd.proc.pid):
        assert after - before < 2048, f"VmRSS grew {before} -> {after} kB"


def test_signed_message_that_is_not_an_ses_event(fd, signer, r):
    body = signer.notification({"hello": "world"})
    assert fd.post(body) == (400, "not an SES event")
    assert nothing_stored(r)


def test_oversized_body_is_refused(fd, r):
    """A body over max_body_size (1M) is refused from its
    Content-Length, before it is read."""
    with socket.create_connection(("127.0.0.1", fd.port), timeout=10) as s:
        s.sendall(b"POST /sns HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 1048577\r\n\r\n")
        reply = s.recv(4096).split(b"\r\n", 1)[0]
    assert reply == b"HTTP/1.1 413 Request Entity Too Large"
    assert nothing_stored(r)


def test_wrong_path_and_method(fd, signer, r):
    body = signer.notification(bounce(["p@dest.example"]))
    assert fd.post(body, path="/other") == (404, "not here")
    assert fd.post(body, method="PUT") == (405, "POST only")
    assert nothing_stored(r)


def test_topic_allow_list(tmp_path, redis, signer, r):
    d = FeedbackD(tmp_path / "fd", redis.url, signer.dir,
                  feedbackd={"topic_arns": TOPIC})
    try:
        other = "arn:aws:sns:us-east-1:123456789012:someone-else"
        body = signer.notification(bounce(["tp@dest.example"]),
                                   topic=other)
        assert d.post(body) == (403, "topic not allowed")
        assert nothing_stored(r)
        body = signer.notification(bounce(["tp@dest.example"]))
        assert d.post(body) == (200, "stored")
    finally:
        d.stop()


def spooled_effects(c):
    return {"stats": {k: int(v) for k, v in c.hgetall(f"{P}stats").items()},
            "suppressed": sorted(c.zrange(f"{P}suppressed", 0, -1))}


def test_redis_down_spools_then_replays_in_order(tmp_path, signer):
    """While Redis is down a notification is acknowledged from the spool;
    when Redis is back the spool is applied in order, each message once
    (the same message twice stays one effect)."""
    red = RedisServer(tmp_path / "r")
    port = red.port
    d = FeedbackD(tmp_path / "fd", red.url, signer.dir)
    try:
        red.stop()
        first = signer.notification(bounce(["s1@dest.example"]))
        second = signer.notification(complaint(["s2@dest.example"]))
        assert d.post(first) == (200, "spooled")
        assert d.post(second) == (200, "spooled")
        assert d.post(first) == (200, "spooled")
        red = RedisServer(tmp_path / "r2", port=port)
        c = red.client()
        assert wait_for(lambda: c.hget(f"{P}suppression:s2@dest.example",
                                       "reason") == "COMPLAINT")
        assert spooled_effects(c) == {
            "stats": {"feedbackd:bounce_permanent": 1,
                      "feedbackd:complaint": 1},
            "suppressed": ["s1@dest.example", "s2@dest.example"]}
        log = d.logtext()
        ids = [json.loads(b)["MessageId"] for b in (first, second)]
        assert log.index(f"sns={ids[0]} event=Bounce") < \
            log.index(f"sns={ids[1]} event=Complaint")
        assert f"sns={ids[0]} event=Bounce/Permanent recipients=1 " \
            "suppressed=0 repeat" in log
        assert os.path.getsize(os.path.join(d.dir, "spool")) == 0
        # Redis up and the spool empty: straight to Redis again.
        assert d.post(signer.notification(bounce(["s3@dest.example"]))) \
            == (200, "stored")
    finally:
        d.stop()
        red.stop()


def test_killed_between_spool_and_replay_loses_nothing(tmp_path, signer):
    red = RedisServer(tmp_path / "r")
    port = red.port
    d = FeedbackD(tmp_path / "fd", red.url, signer.dir)
    try:
        red.stop()
        bodies = [signer.notification(bounce([f"k{i}@dest.example"]))
                  for i in range(3)]
        for b in bodies:
            assert d.post(b) == (200, "spooled")
        d.stop(signal.SIGKILL)
        red = RedisServer(tmp_path / "r2", port=port)
        d.start()
        c = red.client()
        assert wait_for(lambda: c.zcard(f"{P}suppressed") == 3)
        for b in bodies:
            assert d.post(b) == (200, "repeat")
        assert spooled_effects(c)["stats"] == \
            {"feedbackd:bounce_permanent": 3}
    finally:
        d.stop()
        red.stop()


def test_torn_spool_record_is_dropped(tmp_path, signer):
    """A record cut short by a crash while it was written was never
    acknowledged: the daemon drops it and keeps the whole ones."""
    red = RedisServer(tmp_path / "r")
    port = red.port
    d = FeedbackD(tmp_path / "fd", red.url, signer.dir)
    try:
        red.stop()
        assert d.post(signer.notification(bounce(["w@dest.example"]))) \
            == (200, "spooled")
        d.stop(signal.SIGKILL)
        with open(os.path.join(d.dir, "spool"), "ab") as f:
            f.write(b"abc-def\t500\n{\"notificationType\":")
        red = RedisServer(tmp_path / "r2", port=port)
        d.start()
        c = red.client()
        assert wait_for(lambda: c.zcard(f"{P}suppressed") == 1)
        assert wait_for(lambda: os.path.getsize(
            os.path.join(d.dir, "spool")) == 0)
    finally:
        d.stop()
        red.stop()


def test_redis_down_and_spool_unwritable_is_503(tmp_path, signer):
    red = RedisServer(tmp_path / "r")
    d = FeedbackD(tmp_path / "fd", red.url, signer.dir, feedbackd={
        "spool": str(tmp_path / "missing" / "spool")})
    try:
        red.stop()
        body = signer.notification(bounce(["u@dest.example"]))
        assert d.post(body) == (503, "cannot store now")
        assert "feedbackd: spool " in d.logtext()
    finally:
        d.stop()
        red.stop()


def test_bad_configuration_is_refused(tmp_path):
    conf = tmp_path / "sesgate.conf"
    conf.write_text("[feedbackd]\nmax_body_size = 1k\n")
    p = subprocess.run([FEEDBACKD, "-n", "-c", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 78
    assert p.stderr == ("sesgate-feedbackd: configuration errors:\n"
                        f"{conf}:2: [feedbackd] max_body_size: bad value "
                        "\"1k\": want a size from 16384 to 16777216 "
                        "bytes\n")


def test_reload(tmp_path, redis, signer, r):
    """SIGHUP reads the file again; a file with errors leaves the running
    configuration."""
    d = FeedbackD(tmp_path / "fd", redis.url, signer.dir)
    try:
        other = "arn:aws:sns:us-east-1:123456789012:other"
        d.sections["feedbackd"]["topic_arns"] = TOPIC
        write_conf(d.conf, d.sections)
        d.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "feedbackd: reloaded" in d.logtext())
        body = signer.notification(bounce(["rl@dest.example"]),
                                   topic=other)
        assert d.post(body) == (403, "topic not allowed")
        d.sections["feedbackd"]["max_body_size"] = "tiny"
        write_conf(d.conf, d.sections)
        d.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "feedbackd: reload: configuration "
                        "errors; keeping the running one" in d.logtext())
        assert d.post(body) == (403, "topic not allowed")
        assert nothing_stored(r)
    finally:
        d.stop()


def test_metrics(tmp_path, redis, signer, r):
    d = FeedbackD(tmp_path / "fd", redis.url, signer.dir)
    try:
        assert d.post(signer.notification(bounce(["m@dest.example"]))) \
            == (200, "stored")
        assert d.post(with_field(signer, SignatureVersion="3")) == \
            (403, "bad signature")
        r.set(f"{P}pause:account", "bounce rate 12%")
        r.hset(f"{P}stats", "policyd:accept", 7)
        status, text = d.metrics()
        assert status == 200
        lines = text.splitlines()
        for want in [
                'sesgate_policy_decisions_total{decision="accept"} 7',
                'sesgate_ses_events_total{event="bounce_permanent"} 1',
                "sesgate_suppressed 1",
                "sesgate_bounce_rate_percent 0.0000",
                "sesgate_reputation_review 0",
                'sesgate_paused{level="account",id=""} 1',
                "sesgate_redis_up 1",
                'sesgate_feedbackd_notifications_total{outcome="stored"} 1',
                'sesgate_feedbackd_refused_total{reason="bad_signature"} 1',
                'sesgate_feedbackd_refused_total{reason="not_sns"} 0',
                "sesgate_feedbackd_spool_pending 0",
                "# TYPE sesgate_ses_events_total counter"]:
            assert want in lines, want
        assert d.metrics("/other") == (404, "not here")
        assert d.post(b"", path="/metrics", port=d.metrics_port) == \
            (405, "GET only")
    finally:
        d.stop()


def test_metrics_without_redis(tmp_path, signer):
    red = RedisServer(tmp_path / "r")
    d = FeedbackD(tmp_path / "fd", red.url, signer.dir)
    try:
        red.stop()
        status, text = d.metrics()
        assert status == 200
        assert "sesgate_redis_up 0" in text.splitlines()
        assert "sesgate_suppressed" not in text
    finally:
        d.stop()


def test_subscription_is_confirmed_by_fetching(tmp_path, redis, signer, r):
    host = SnsHost(signer, tmp_path / "host")
    d = FeedbackD(tmp_path / "fd", redis.url, signer.dir,
                  feedbackd=host.feedbackd())
    try:
        assert d.post(signer.confirmation()) == (200, "confirmed")
        assert host.requests == ["/?Action=ConfirmSubscription&Token=2336"]
        assert "subscription to arn:aws:sns:us-east-1:123456789012:" \
            "ses-feedback confirmed" in d.logtext()
        assert nothing_stored(r)
    finally:
        d.stop()
        host.stop()


def test_certificate_not_in_the_directory_is_fetched(tmp_path, redis,
                                                     signer, r):
    name = "SimpleNotificationService-fetched.pem"
    pem = open(os.path.join(signer.dir, CERT_NAME), "rb").read()
    host = SnsHost(signer, tmp_path / "host", pages={f"/{name}": pem})
    d = FeedbackD(tmp_path / "fd", redis.url, tmp_path / "empty",
                  feedbackd=host.feedbackd())
    try:
        url = f"https://sns.us-east-1.amazonaws.com/{name}"
        for addr in ("f1@dest.example", "f2@dest.example"):
            env = json.loads(signer.notification(bounce([addr])))
            env["SigningCertURL"] = url
            body = json.dumps(signer.sign(env, 2)).encode()
            assert d.post(body) == (200, "stored")
        # Fetched once, then kept.
        assert host.requests == [f"/{name}"]
        assert r.zcard(f"{P}suppressed") == 2
        env = json.loads(signer.notification(bounce(["f3@dest.example"])))
        env["SigningCertURL"] = \
            "https://sns.us-east-1.amazonaws.com/Missing-1.pem"
        body = json.dumps(signer.sign(env, 2)).encode()
        assert d.post(body) == (503, "cannot fetch the signing "
                                "certificate now")
        assert "HTTP status 404" in d.logtext()
    finally:
        d.stop()
        host.stop()


def test_fetch_with_an_untrusted_server_is_refused(tmp_path, redis, signer,
                                                   r):
    """The server's certificate must verify: here the daemon trusts the
    system's CAs only, which did not issue the test host's."""
    host = SnsHost(signer, tmp_path / "host")
    conf = host.feedbackd()
    del conf["fetch_ca_file"]
    d = FeedbackD(tmp_path / "fd", redis.url, signer.dir, feedbackd=conf)
    try:
        assert d.post(signer.confirmation()) == (503, "cannot confirm now")
        assert host.requests == []
        assert "not confirmed" in d.logtext()
    finally:
        d.stop()
        host.stop()


def test_soft_bounces_suppress_at_the_limit(tmp_path, redis, signer, r):
    d = FeedbackD(tmp_path / "fd", redis.url, signer.dir, feedbackd={
        "soft_bounce_limit": "3", "soft_bounce_window": "1d"})
    try:
        def soft():
            ev = bounce([("sb@dest.example", "smtp; 452 4.2.2 full")],
                        "Transient", "MailboxFull")
            return d.post(signer.notification(ev))
        assert soft() == (200, "stored")
        assert soft() == (200, "stored")
        assert entry(r, "sb@dest.example") == {}
        assert r.get(f"{P}softbounces:sb@dest.example") == "2"
        assert 0 < r.pttl(f"{P}softbounces:sb@dest.example") <= 86400000
        assert soft() == (200, "stored")
        e = entry(r, "sb@dest.example")
        assert (e["reason"], e["bounce_type"], e["bounce_subtype"],
                e["diagnostic"]) == ("BOUNCE", "Transient", "MailboxFull",
                                     "3 soft bounces; the last: smtp; 452 "
                                     "4.2.2 full")
        assert r.exists(f"{P}softbounces:sb@dest.example") == 0
        assert stats(r) == {"feedbackd:bounce_transient": 3}
    finally:
        d.stop()


def test_tls_terminated_by_the_daemon(tmp_path, redis, signer, r):
    host = SnsHost(signer, tmp_path / "host")
    cert, key = host.server_files()
    d = FeedbackD(tmp_path / "fd", redis.url, signer.dir, feedbackd={
        "tls_cert_file": cert, "tls_key_file": key})
    try:
        body = signer.notification(bounce(["tls@dest.example"]))
        assert d.post(body, tls_ca=host.ca_file) == (200, "stored")
        assert entry(r, "tls@dest.example")["reason"] == "BOUNCE"
        # Plain HTTP on the TLS port gets no answer.
        with pytest.raises((ConnectionError, http.client.HTTPException,
                            OSError)):
            d.post(body)
    finally:
        d.stop()
        host.stop()


def test_bad_tls_files_refuse_the_start(tmp_path, redis, signer):
    conf = tmp_path / "sesgate.conf"
    conf.write_text("[global]\nuser = root\nallow_root = yes\n"
                    f"[redis]\nurl = {redis.url}\n[feedbackd]\n"
                    f"listen = inet:127.0.0.1:{free_port()}\n"
                    f"metrics_listen = inet:127.0.0.1:{free_port()}\n"
                    f"tls_cert_file = {tmp_path}/missing.pem\n"
                    f"tls_key_file = {tmp_path}/missing.key\n"
                    f"spool = {tmp_path}/spool\n")
    p = subprocess.run([FEEDBACKD, "-f", "-c", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 78
    assert f"TLS: {tmp_path}/missing.pem, {tmp_path}/missing.key: " in \
        p.stderr
