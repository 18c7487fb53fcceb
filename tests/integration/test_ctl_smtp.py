"""sesgatectl smtp-password: the SES SMTP password of an IAM secret access
key, by AWS's algorithm, checked against published test vectors and
against the algorithm as the SES simulator computes it with Python's hmac,
for several regions; the key is read from standard input or a variable,
never taken from the command line.
"""
import base64
import json
import os
import re
import secrets
import subprocess

import pytest

from lab import SESGATECTL, TOP
from postfix import shipped_relay_settings
from simulator import derive

EX_USAGE = 64
EX_DATAERR = 65


def run(args, stdin="", env=None, conf="/dev/null"):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([SESGATECTL, "-c", conf] + args, input=stdin,
                          capture_output=True, text=True, timeout=30, env=e)


# Published by the Terraform AWS provider's unit tests, and AWS's example
# key.
VECTORS = [
    ("eu-central-1", "some+secret+key",
     "BMXhUYlu5Z3gSXVQORxlVa7XPaz91aGWdfHxvkOZdWZ2"),
    ("eu-central-1", "another+secret+key",
     "BBbphbrQmrKMx42d1N6+C7VINYEBGI5v9VsZeTxwskfh"),
    ("us-west-1", "some+secret+key",
     "BH+jbMzper5WwlwUar9E1ySBqHa9whi0GPo+sJ0mVYJj"),
    ("us-west-1", "another+secret+key",
     "BKVmjjMDFk/qqw8EROW99bjCS65PF8WKvK5bSr4Y6EqF"),
    ("us-east-1", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"),
]


@pytest.mark.parametrize("region,secret,want", VECTORS)
def test_published_vectors(region, secret, want):
    assert derive(secret, region) == want
    p = run(["--json", "smtp-password", "--region", region],
            stdin=secret + "\n")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {
        "password": want, "region": region,
        "endpoint": f"email-smtp.{region}.amazonaws.com"}


@pytest.mark.parametrize("region", ["us-east-2", "ap-southeast-2",
                                    "eu-west-3", "us-gov-west-1",
                                    "il-central-1", "ap-southeast-5"])
def test_matches_an_independent_computation(region):
    secret = base64.b64encode(secrets.token_bytes(30)).decode()
    p = run(["--json", "smtp-password", "--region", region],
            stdin=secret)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["password"] == derive(secret, region)


def test_text_output_and_the_configured_region(tmp_path):
    conf = tmp_path / "sesgate.conf"
    conf.write_text("[global]\nregion = eu-west-1\n")
    secret = "some+secret+key"
    p = run(["smtp-password"], stdin=secret + "\r\n", conf=str(conf))
    assert p.returncode == 0, p.stderr
    pw = derive(secret, "eu-west-1")
    assert p.stdout.splitlines()[1].split() == [
        pw, "email-smtp.eu-west-1.amazonaws.com", "eu-west-1"]


def test_secret_from_a_variable():
    p = run(["--json", "smtp-password", "--region", "us-west-1",
             "--secret-env", "MY_SES_SECRET"],
            env={"MY_SES_SECRET": "some+secret+key"})
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["password"] == VECTORS[2][2]


@pytest.mark.parametrize("args,stdin,env,status,msg", [
    (["--region", "Mars-1"], "k", None, EX_DATAERR,
     '--region "Mars-1": not an AWS region name such as us-east-1'),
    (["--region", "us-east-1"], "", None, EX_DATAERR,
     "no secret access key on standard input"),
    (["--region", "us-east-1"], "\n", None, EX_DATAERR,
     "no secret access key on standard input"),
    (["--region", "us-east-1"], "two words\n", None, EX_DATAERR,
     "the secret access key holds white space or a control character"),
    (["--region", "us-east-1"], "k" * 200, None, EX_DATAERR,
     "the line on standard input is longer than a secret access key"),
    (["--region", "us-east-1", "--secret-env", "UNSET_SES_SECRET"], "",
     {"UNSET_SES_SECRET": ""}, EX_DATAERR,
     "--secret-env UNSET_SES_SECRET: the variable is not set or empty"),
    (["--region", "us-east-1", "some+secret+key"], "", None, EX_USAGE,
     ""),
])
def test_refused_input(args, stdin, env, status, msg):
    p = run(["smtp-password"] + args, stdin=stdin, env=env)
    assert p.returncode == status
    assert msg in p.stderr
    assert p.stdout == ""


def test_postfix_config_is_what_postconf_takes(tmp_path):
    p = run(["postfix-config", "--region", "us-west-1", "--user",
             "AKIAIOSFODNN7EXAMPLE"], stdin="some+secret+key\n")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[-1] == ("[email-smtp.us-west-1.amazonaws.com]:587 "
                         "AKIAIOSFODNN7EXAMPLE:" + VECTORS[2][2])
    # The postconf command, run on a configuration directory of ours.
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "main.cf").write_text("")
    cmd = "\n".join(l for l in lines if not l.startswith("#")
                    and not l.startswith("["))
    cmd = cmd.replace("postconf -e", f"postconf -c {etc} -e", 1)
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    # Every relay setting of the shipped conf/main.cf, the same, as
    # postconf wrote it.
    got = (etc / "main.cf").read_text().splitlines()
    want = [f"{k} = {v}" for k, v in shipped_relay_settings()]
    want[0] = "relayhost = [email-smtp.us-west-1.amazonaws.com]:587"
    assert sorted(got) == sorted(want)


def test_postfix_size_limit_is_the_milters():
    """conf/main.cf's message_size_limit is the default of [milter]
    max_message_size, as conf/sesgate.conf shows it: 10M."""
    assert dict(shipped_relay_settings())["message_size_limit"] == \
        str(10 << 20)
    with open(os.path.join(TOP, "conf", "sesgate.conf")) as f:
        assert re.search(r"^#? ?max_message_size = 10M$", f.read(), re.M)


def test_a_region_without_an_endpoint_is_named():
    """AWS's region lists disagree, so a region of the right form is
    taken; when its endpoint does not resolve, the warning says so."""
    p = run(["--json", "smtp-password", "--region", "xx-nowhere-9"],
            stdin="some+secret+key\n")
    assert p.returncode == 0
    assert json.loads(p.stdout)["endpoint"] == \
        "email-smtp.xx-nowhere-9.amazonaws.com"
    assert p.stderr == (
        "sesgatectl: warning: email-smtp.xx-nowhere-9.amazonaws.com does "
        "not resolve (Name or service not known): check that "
        "xx-nowhere-9 is a region where SES takes SMTP mail; the "
        "password is derived for it all the same\n")


@pytest.mark.parametrize("args,status,msg", [
    (["--region", "us-east-1"], EX_USAGE,
     "name the IAM access key ID with --user"),
    (["--user", "alice"], EX_DATAERR,
     '--user "alice": not an IAM access key ID'),
    (["--user", "AKIAIOSFODNN7EXAMPLE", "--region", "x"], EX_DATAERR,
     '--region "x": not an AWS region name'),
])
def test_postfix_config_refused(args, status, msg):
    p = run(["postfix-config"] + args, stdin="some+secret+key\n")
    assert p.returncode == status
    assert msg in p.stderr
    assert p.stdout == ""
