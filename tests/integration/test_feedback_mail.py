"""sesgate-feedbackd --mail, as a Postfix pipe transport runs it: one
feedback e-mail on standard input (DSNs and ARF reports of several MTA
styles, tests/feedback-mail/), its effects in Redis and the exit status
Postfix acts on (sysexits: 0, 65 EX_DATAERR, 75 EX_TEMPFAIL).
"""
import os
import subprocess

import pytest

from feedback import FEEDBACKD
from lab import RedisServer, write_conf

SAMPLES = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "feedback-mail")
P = "sesgate:"
EX_DATAERR = 65
EX_TEMPFAIL = 75


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    r = RedisServer(tmp_path_factory.mktemp("redis"))
    yield r
    r.stop()


@pytest.fixture
def r(redis):
    c = redis.client()
    c.flushdb()
    return c


def run(tmp_path, redis_url, sample=None, data=None):
    conf = write_conf(tmp_path / "sesgate.conf",
                      {"global": {"log_level": "debug"},
                       "redis": {"url": redis_url}})
    if data is None:
        with open(os.path.join(SAMPLES, sample), "rb") as f:
            data = f.read()
    return subprocess.run([FEEDBACKD, "--mail", "-f", "-c", conf],
                          input=data, capture_output=True, timeout=30)


def effects(r):
    return {"stats": {k: int(v) for k, v in r.hgetall(f"{P}stats").items()},
            "suppressed": {m: r.hget(f"{P}suppression:{m}", "reason")
                           for m in r.zrange(f"{P}suppressed", 0, -1)}}


CASES = [
    ("postfix-user-unknown.eml",
     {"feedbackd:bounce_permanent": 2},
     {"alice@example.net": "BOUNCE", "bob@example.net": "BOUNCE"}),
    ("ses-bounce.eml", {"feedbackd:bounce_permanent": 1},
     {"mallory@example.net": "BOUNCE"}),
    ("exim-mailbox-disabled.eml", {"feedbackd:bounce_permanent": 1},
     {"carol@example.org": "BOUNCE"}),
    # The failed recipient only; the delayed one is no bounce.
    ("sendmail-mixed.eml", {"feedbackd:bounce_permanent": 1},
     {"dave@example.org": "BOUNCE"}),
    ("original-recipient-only.eml", {"feedbackd:bounce_permanent": 1},
     {"heidi@groupware.example.org": "BOUNCE"}),
    ("nested-mixed-qp.eml", {"feedbackd:bounce_permanent": 1},
     {"ivan@example.org": "BOUNCE"}),
    # Failed with 4.x.x: a soft bounce, counted.
    ("postfix-expired.eml", {"feedbackd:bounce_transient": 1}, {}),
    ("arf-yahoo-abuse.eml", {"feedbackd:complaint": 1},
     {"nina@yahoo.com": "COMPLAINT"}),
    ("arf-not-spam.eml", {"feedbackd:complaint_not_spam": 1}, {}),
]


@pytest.mark.parametrize("sample,stats,suppressed", CASES,
                         ids=[c[0] for c in CASES])
def test_feedback_mail_takes_effect_once(tmp_path, redis, r, sample, stats,
                                         suppressed):
    p = run(tmp_path, redis.url, sample)
    assert p.returncode == 0, p.stderr
    assert effects(r) == {"stats": stats, "suppressed": suppressed}
    # Postfix delivers the same message again: one effect.
    p = run(tmp_path, redis.url, sample)
    assert p.returncode == 0, p.stderr
    assert b" repeat" in p.stderr
    assert effects(r) == {"stats": stats, "suppressed": suppressed}


def test_suppression_entry_of_a_dsn(tmp_path, redis, r):
    assert run(tmp_path, redis.url, "postfix-user-unknown.eml") \
        .returncode == 0
    e = r.hgetall(f"{P}suppression:alice@example.net")
    assert (e["reason"], e["source"], e["bounce_type"]) == \
        ("BOUNCE", "feedback", "Permanent")
    assert e["diagnostic"].startswith("smtp; 550 5.1.1 <alice@example.net>")


@pytest.mark.parametrize("sample", ["postfix-delayed.eml",
                                    "postfix-delivered.eml"])
def test_nothing_to_act_on(tmp_path, redis, r, sample):
    p = run(tmp_path, redis.url, sample)
    assert p.returncode == 0, p.stderr
    assert b"nothing to do" in p.stderr
    assert r.keys("*") == []


@pytest.mark.parametrize("sample", ["plain-bounce.eml", "no-boundary.eml",
                                    "no-report-part.eml", "truncated.eml"])
def test_unreadable_is_dataerr(tmp_path, redis, r, sample):
    p = run(tmp_path, redis.url, sample)
    assert p.returncode == EX_DATAERR
    assert b"refused (EX_DATAERR)" in p.stderr
    assert r.keys("*") == []


def test_empty_and_oversized_input(tmp_path, redis, r):
    assert run(tmp_path, redis.url, data=b"").returncode == EX_DATAERR
    big = b"Subject: x\r\n\r\n" + b"x" * (10 * 1024 * 1024)
    assert run(tmp_path, redis.url, data=big).returncode == EX_DATAERR
    assert r.keys("*") == []


def test_redis_down_is_tempfail(tmp_path):
    red = RedisServer(tmp_path / "r")
    url = red.url
    red.stop()
    p = run(tmp_path, url, "postfix-user-unknown.eml")
    assert p.returncode == EX_TEMPFAIL
    assert b"try again later (EX_TEMPFAIL)" in p.stderr


def test_bad_configuration_is_tempfail(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("[feedbackd]\nspool =\nnonsense = 1\n")
    p = subprocess.run([FEEDBACKD, "--mail", "-c", str(conf)],
                       input=b"", capture_output=True, timeout=30)
    assert p.returncode == EX_TEMPFAIL
    assert b"unknown key" in p.stderr
