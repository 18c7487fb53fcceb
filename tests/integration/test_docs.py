"""The documentation says what the code does.

- Every key of the configuration parser (as sesgate-policyd -n prints
  them) is documented in sesgate.conf(5) and set in conf/sesgate.conf, and
  neither names a key the parser does not know; the sample file loads and
  is exactly the defaults.
- Every key name lib/schema.c can build appears in sesgate-redis(7), and
  the page names no other; its redis-cli examples do what it says they do
  against a real Redis and sesgate-policyd, privacy-mode hash included.
- Every reply text of policyd/decide.c appears in sesgate-policyd(8).
- The man pages render without a groff warning, and the Postfix fragments
  in conf/ parse without a postconf warning and name the daemon's socket.
"""
import glob
import hashlib
import hmac
import os
import re
import shlex
import shutil
import subprocess
import time

import pytest

from conftest import BUILD, POLICYD, TOP, RedisServer

MAN = os.path.join(TOP, "man")
CONF = os.path.join(TOP, "conf")


def read(*parts):
    with open(os.path.join(TOP, *parts)) as f:
        return f.read()


DEFAULT_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    srv = RedisServer(tmp_path_factory.mktemp("redis"))
    yield srv.url
    srv.stop()


def run_n(path, redis_url, tmpdir):
    """sesgate-policyd -n on a copy of path whose [redis] url is our
    Redis (-n checks that the server answers); the printed url is put
    back to the file's."""
    with open(path) as f:
        text = f.read()
    if re.search(r"^url = ", text, re.M):
        text = re.sub(r"^url = .*$", f"url = {redis_url}", text, 1, re.M)
    else:
        text += f"\n[redis]\nurl = {redis_url}\n"
    copy = os.path.join(str(tmpdir), "n-" + os.path.basename(path))
    with open(copy, "w") as f:
        f.write(text)
    r = subprocess.run([POLICYD, "-n", "-c", copy], capture_output=True,
                       text=True, timeout=30)
    r.stdout = r.stdout.replace(f"url = {redis_url}", f"url = {DEFAULT_URL}")
    return r


def parse_printed(text):
    """{(section, key): value} from sesgate-policyd -n output."""
    keys, section = {}, None
    for line in text.splitlines():
        if not line.strip():
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            section = m.group(1)
            continue
        # A repeatable key given no line (dkim_key) prints as a comment.
        m = re.fullmatch(r"# (\w+): none", line)
        if m and section:
            keys[(section, m.group(1))] = ""
            continue
        m = re.fullmatch(r"(\w+) = ?(.*)", line)
        assert m and section, f"unexpected -n output line {line!r}"
        keys[(section, m.group(1))] = m.group(2)
    return keys


@pytest.fixture(scope="module")
def parser_keys(tmp_path_factory, redis_url):
    tmp = tmp_path_factory.mktemp("conf")
    empty = tmp / "empty.conf"
    empty.write_text("")
    r = run_n(str(empty), redis_url, tmp)
    assert r.returncode == 0, r.stderr
    keys = parse_printed(r.stdout)
    # The table of lib/config.c, as far as a regex can read it: the -n
    # output must not have lost any section.
    assert {s for s, _ in keys} == {"global", "redis", "policyd", "milter",
                                    "feedbackd"}
    assert len(keys) >= 30
    return keys


def troff_text(src):
    """Man page source as plain text: escapes removed, one line."""
    src = re.sub(r"\\f(\[[A-Z]*\]|[BIRP])", "", src)
    for a, b in [("\\-", "-"), ("\\&", ""), ("\\(aq", "'"), ("\\(dq", '"'),
                 ("\\(em", "--"), ("\\(mu", "x"), ("\\(bu", "*"),
                 ("\\e", "\\")]:
        src = src.replace(a, b)
    lines = []
    for line in src.splitlines():
        if line.startswith("."):
            parts = line.split(None, 1)
            line = parts[1] if len(parts) > 1 else ""
            line = line.replace('"', "")
        lines.append(line)
    return re.sub(r"\s+", " ", " ".join(lines))


# -- sesgate.conf(5) and conf/sesgate.conf --------------------------------

def man_conf_keys():
    """(section, key) of every key entry in sesgate.conf(5): a .TP or .TQ
    item, outside any .RS block, under a .SH "[section]" heading, whose
    tag line is .B or .BR with the key names."""
    keys, section, depth, tag_next = set(), None, 0, False
    for line in read("man", "sesgate.conf.5").splitlines():
        if line.startswith(".SH"):
            m = re.fullmatch(r'\.SH "?\[(\w+)\]"?', line)
            section = m.group(1) if m else None
            continue
        if line.startswith(".RS"):
            depth += 1
        elif line.startswith(".RE"):
            depth -= 1
        if tag_next:
            tag_next = False
            m = re.match(r"\.BR? (.*)", line)
            if m and section and depth == 0:
                text = re.sub(r'"[^"]*"', " ", m.group(1))
                for word in text.split():
                    if re.fullmatch(r"[a-z][a-z0-9_]*", word):
                        keys.add((section, word))
            continue
        if line in (".TP", ".TQ") and depth == 0:
            tag_next = True
    return keys


def test_conf_man_page_documents_every_key(parser_keys):
    documented = man_conf_keys()
    assert sorted(set(parser_keys) - documented) == [], \
        "keys missing from man/sesgate.conf.5"
    assert sorted(documented - set(parser_keys)) == [], \
        "man/sesgate.conf.5 documents keys the parser does not know"


def sample_keys():
    keys, section = set(), None
    for raw in read("conf", "sesgate.conf").splitlines():
        line = re.split(r"\s;", raw)[0].strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            section = m.group(1)
            continue
        m = re.fullmatch(r"(\w+)\s*=.*", line)
        assert m and section, f"conf/sesgate.conf: odd line {raw!r}"
        assert (section, m.group(1)) not in keys
        keys.add((section, m.group(1)))
    return keys


def test_sample_conf_sets_every_key(parser_keys):
    assert sorted(set(parser_keys) - sample_keys()) == [], \
        "keys missing from conf/sesgate.conf"
    assert sorted(sample_keys() - set(parser_keys)) == [], \
        "conf/sesgate.conf sets keys the parser does not know"


def test_sample_conf_loads_and_is_the_defaults(parser_keys, redis_url,
                                               tmp_path):
    r = run_n(os.path.join(CONF, "sesgate.conf"), redis_url, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert parse_printed(r.stdout) == parser_keys


def test_conf_man_page_defaults(parser_keys):
    """The default written after each key in sesgate.conf(5) is the one
    the parser has (durations as -n prints them, in ms)."""
    whole = read("man", "sesgate.conf.5")
    units = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}
    checked = 0
    for (section, key), value in parser_keys.items():
        # The key's entry in its own section (listen is in two).
        src = whole.split(f'\n.SH "[{section}]"\n', 1)[1].split(
            "\n.SH ")[0] + "\n.SH "
        k = re.escape(key)
        m = (re.search(r"\n\.B %s\n(?:(?!\.TP)[^\n]*\n){0,6}?[^\n]*"
                       r"\(default\n\.BR? (\"[^\"]*\"|\S+)" % k, src) or
             re.search(r"\n\.B %s\n([^.\n][^\n]*)\n\.(?:T[PQ]|SH)\b" % k, src))
        if not m and value == "":
            # An empty default is described in words: "(default:
            # empty)", "(default: the host name)".
            m = re.search(r"\n\.B %s\n(?:(?!\.TP)[^\n]*\n){0,6}?"
                          r"\(default: [^)]+\)" % k, src)
            if m:
                checked += 1
            continue
        if not m:
            continue
        doc = m.group(1).strip('"').replace("\\-", "-")
        d = re.fullmatch(r"(\d+)(ms|s|m|h|d)", doc)
        if d and value.endswith("ms"):
            doc = f"{int(d.group(1)) * units[d.group(2)]}ms"
        assert doc == value, f"[{section}] {key}"
        checked += 1
    # All but suppression_hash_key, whose default is not written out.
    assert checked == len(parser_keys) - 1


# -- sesgate-redis(7) ------------------------------------------------------

def schema_key_patterns():
    """Every key name lib/schema.c's schema_key() builds, with the default
    prefix and the id left off: "sesgate:identities",
    "sesgate:pause:account", "sesgate:pause:domain:"..."""
    src = read("lib", "schema.c")
    kinds = dict(re.findall(r'\[(SCHEMA_\w+)\]\s*=\s*"([\w:]+)"',
                            src.split("kind_names[]", 1)[1].split("};")[0]))
    levels = re.findall(r'"(\w+)"', src.split("level_names[]", 1)[1]
                        .split("}")[0])
    body = src.split("\nschema_key(", 1)[1].split("\n}\n", 1)[0]
    patterns = set()
    for group in re.finditer(r"((?:\s*case (SCHEMA_\w+):)+)(.*?)"
                             r"(?=\n\tcase |\n\t}\n)", body, re.S):
        names = [kinds[k] for k in re.findall(r"SCHEMA_\w+", group.group(1))]
        fmts = re.findall(r'"(%s%s[^"]*)"', group.group(3))
        assert fmts, group.group(0)
        for name in names:
            for f in fmts:
                rest = f[len("%s%s"):]
                if rest == ":%s:%s":
                    for lv in levels:
                        if lv != "account":
                            patterns.add(f"sesgate:{name}:{lv}:")
                elif rest == ":%s":
                    patterns.add(f"sesgate:{name}:")
                else:
                    assert "%" not in rest, f
                    patterns.add(f"sesgate:{name}{rest}")
    assert len(kinds) >= 7 and len(patterns) >= 11
    return kinds, patterns


def test_redis_man_page_documents_every_key():
    kinds, patterns = schema_key_patterns()
    text = troff_text(read("man", "sesgate-redis.7"))
    missing = sorted(p for p in patterns
                     if not re.search(re.escape(p) + r"(?![\w])"
                                      if not p.endswith(":") else
                                      re.escape(p), text))
    assert missing == [], "key names missing from man/sesgate-redis.7"
    # ... and names no kind of key the code does not have, the
    # placeholder schema_check_argv() gives for a key that does not apply
    # aside.
    src = read("lib", "schema.c")
    assert 'memcpy(none + plen, "none", sizeof("none"))' in src
    assert "sesgate:none" in text
    used = set(re.findall(r"sesgate:(\w+)", text))
    assert sorted(used - {k.split(":")[0] for k in kinds.values()}
                  - {"none"}) == []


def test_redis_man_page_window_arithmetic():
    """The numbers in ROLLING WINDOW are schema_window()'s for 24h."""
    text = troff_text(read("man", "sesgate-redis.7"))
    window = 86400000
    bucket = max((window + 1439) // 1440, 1000)
    n = (window + bucket - 1) // bucket
    assert "60 seconds for a 24-hour window" in text and bucket == 60000
    assert f"{n} for 24 hours" in text
    assert f"28 + 4xN bytes: {28 + 4 * n:,} bytes" in text
    # The layout the page gives is the script's.
    lua = read("lib", "sesgate.lua")
    for field in ["i64 #0", "i64 #1", "i64 #2", "u32 #6", "u32 #7+i"]:
        assert field in lua, field
        assert re.search(r"\s*".join(map(re.escape, field)), text), field
    assert "u32 #4" not in text and "u32 #5" not in text
    src = read("lib", "schema.c")
    assert "(window_ms + 1439) / 1440" in src and "b < 1000" in src


def man_examples():
    """Logical shell commands of the .EX blocks of one man section."""
    src = read("man", "sesgate-redis.7")
    section = src.split(".SH EXAMPLES", 1)[1].split("\n.SH ", 1)[0]
    cmds = []
    for block in re.findall(r"\.EX\n(.*?)\n\.EE", section, re.S):
        text = block
        for a, b in [("\\-", "-"), ("\\(aq", "'"), ("\\e", "\\")]:
            text = text.replace(a, b)
        text = re.sub(r"\\\n\s*", "", text)
        cmds += [c for c in text.splitlines() if c.strip()]
    return cmds


def test_redis_man_page_examples_work(redis_server, policyd_factory):
    """Run each redis-cli example of sesgate-redis(7) against a real Redis
    and check that sesgate-policyd then decides as the page says."""
    cmds = man_examples()
    assert "T=$(date +%s)" in cmds
    p = policyd_factory(glob={"region": "eu-west-1"},
                        policyd={"account_max_rate": "unlimited"})
    c = p.connect()
    r = redis_server.client()
    t = int(time.time())
    env = dict(os.environ, T=str(t))
    shell_func = (f"redis-cli() {{ command redis-cli -h 127.0.0.1 "
                  f"-p {redis_server.port} \"$@\"; }}; ")

    def sh(cmd):
        out = subprocess.run(["bash", "-c", shell_func + cmd], env=env,
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, (cmd, out.stderr)
        assert "ERR" not in out.stdout, (cmd, out.stdout)
        return out.stdout

    accepted = []

    def ask(rcpt, sender="alice@example.com", sasl="alice"):
        reply = c.ask(sender=sender, recipient=rcpt, sasl_username=sasl)
        if reply == "DUNNO":
            accepted.append(rcpt)
        return reply

    unverified = ("554 5.7.1 Message rejected: Email address is not "
                  "verified. The following identities failed the check in "
                  "region eu-west-1: alice@example.com")
    assert ask("x@example.net") == unverified
    done = []
    for cmd in cmds:
        if cmd.startswith("sesgatectl quota usage "):
            out = subprocess.run(
                [os.path.join(BUILD, "sesgatectl"), "-c", p.conf]
                + cmd.split()[1:], capture_output=True, text=True,
                timeout=30)
            assert out.returncode == 0, out.stderr
            assert re.search(r"^sender\s+alice\s+%d\s" % len(accepted),
                             out.stdout, re.M), out.stdout
            done.append(cmd)
            continue
        if not cmd.startswith("redis-cli"):
            assert cmd.startswith("T="), cmd
            continue
        out = sh(cmd)
        done.append(cmd)
        words = cmd.split()
        op, key = words[1], words[2] if len(words) > 2 else ""
        if op == "SADD":
            assert r.smembers("sesgate:identities") == \
                {"example.com", "alice@example.org"}
            assert ask("x@example.net") == "DUNNO"
        elif op == "SREM":
            assert r.smembers("sesgate:identities") == {"example.com"}
        elif op == "HSET" and key.startswith("sesgate:suppression:"):
            assert r.hgetall(key) == {"reason": "BOUNCE", "time": str(t),
                                      "source": "admin"}
        elif op == "ZADD":
            assert r.zrange("sesgate:suppressed", 0, -1,
                            withscores=True) == [("bob@example.net", t)]
            since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
            assert ask("Bob@Example.NET") == (
                "550 5.1.1 Address is on the suppression list (reason "
                f"BOUNCE, since {since})")
        elif op == "ZREM":
            assert not r.exists("sesgate:suppression:bob@example.net")
            assert r.zcard("sesgate:suppressed") == 0
            assert ask("bob@example.net") == "DUNNO"
        elif op == "SET" and key == "sesgate:pause:account":
            assert ask("x@example.net") == ("454 4.7.0 Sending paused for "
                                            "this account: bounce rate "
                                            "over 10%")
            assert r.ttl(key) == -1
        elif op == "SET" and key.startswith("sesgate:pause:domain:"):
            assert 3590 <= r.ttl(key) <= 3600
        elif op == "DEL" and key == "sesgate:pause:account":
            assert ask("x@example.net") == "DUNNO"
            assert not r.exists("sesgate:pause:domain:example.com")
        elif op == "HSET" and key == "sesgate:limits:sender:alice":
            assert r.hgetall(key) == {"max_24h": "1000", "max_rate": "2"}
        elif op == "HDEL":
            assert r.hgetall(key) == {"max_rate": "2"}
        elif op == "BITFIELD_RO":
            # The documented total at u32 #6: the recipients accepted
            # for alice above; the refused ones are not counted.
            assert len(accepted) == 3
            assert out.split() == [str(len(accepted))], out
        elif op == "HGETALL" and key == "sesgate:stats":
            assert f"policyd:accept\n{len(accepted)}\n" in out
            assert "policyd:suppressed\n1\n" in out
            assert "policyd:paused\n1\n" in out
            assert "policyd:unverified_sender\n1\n" in out
    ops = {d.split()[1] for d in done}
    assert {"SADD", "SREM", "HSET", "ZADD", "ZREM", "DEL", "SET", "HDEL",
            "BITFIELD_RO", "ZRANGEBYSCORE", "HGETALL", "quota"} <= ops
    c.close()


def test_privacy_mode_recipe(redis_server, policyd_factory):
    """The shell recipe of PRIVACY MODE gives the hash the daemon looks
    up."""
    src = read("man", "sesgate-redis.7")
    section = src.split('.SH "PRIVACY MODE"', 1)[1].split("\n.SH ", 1)[0]
    block = re.search(r"\.EX\n(.*?)\n\.EE", section, re.S).group(1)
    for a, b in [("\\-", "-"), ("\\(aq", "'"), ("\\e", "\\")]:
        block = block.replace(a, b)
    key = "k3y with spaces"
    out = subprocess.run(["bash", "-c", block], capture_output=True,
                         text=True, env=dict(os.environ, KEY=key),
                         timeout=30)
    assert out.returncode == 0, out.stderr
    h = out.stdout.strip()
    assert h == hmac.new(key.encode(), b"alice@example.com",
                         hashlib.sha256).hexdigest()
    r = redis_server.client()
    r.hset(f"sesgate:suppression:{h}", mapping={"reason": "COMPLAINT",
                                                "time": "0"})
    p = policyd_factory(redis={"suppression_hash_key": key},
                        policyd={"verify_sender": "no"})
    c = p.connect()
    assert c.ask(sender="a@b.example", recipient="<ALICE@example.com>",
                 sasl_username="u") == (
        "550 5.1.1 Address is on the suppression list (reason COMPLAINT, "
        "since 1970-01-01T00:00:00Z)")
    c.close()


def install_acl_line():
    """The arguments of the ACL SETUSER command shown in INSTALL."""
    text = read("INSTALL")
    m = re.search(r"redis-cli ACL SETUSER (.*?)\n\n", text, re.S)
    return shlex.split(m.group(1).replace("\\\n", " "))


def test_install_acl_user_is_enough(redis_server, policyd_factory):
    """The Redis ACL user INSTALL recommends can run every decision."""
    args = install_acl_line()
    assert args[0] == "sesgate" and "~sesgate:*" in args
    # The prefix pattern alone: no other key pattern is needed.
    assert [a for a in args if a.startswith("~")] == ["~sesgate:*"]
    redis_server.cli("ACL", "SETUSER", *args)
    pw = next(a[1:] for a in args if a.startswith(">"))
    r = redis_server.client()
    r.sadd("sesgate:identities", "example.com")
    r.hset("sesgate:suppression:s@example.net", mapping={
        "reason": "BOUNCE", "time": "0"})
    p = policyd_factory(redis={
        "url": f"redis://sesgate:{pw}@127.0.0.1:{redis_server.port}/1"})
    c = p.connect()
    # Database 1 is empty: the identity is unknown there.
    reply = c.ask(sender="a@example.com", recipient="x@example.net",
                  sasl_username="a")
    assert reply.startswith("554 5.7.1 "), p.logtext()
    c.close()
    p.stop()
    p = policyd_factory(redis={
        "url": f"redis://sesgate:{pw}@127.0.0.1:{redis_server.port}/0"})
    c = p.connect()
    assert c.ask(sender="a@example.com", recipient="x@example.net",
                 sasl_username="a", instance="i1") == "DUNNO"
    # No SASL user and no instance: the script gets the placeholder
    # sesgate:none for the keys that do not apply.
    assert c.ask(sender="a@example.com", recipient="y@example.net",
                 client_address="127.0.0.1") == "DUNNO"
    assert c.ask(sender="a@example.com", recipient="s@example.net",
                 sasl_username="a", instance="i1").startswith("550 5.1.1 ")
    # The null sender: no domain to pause, counted under the domain <>.
    assert c.ask(sender="", recipient="z@example.net",
                 client_address="127.0.0.1") == "DUNNO"
    c.close()
    assert "store-error" not in p.logtext()
    assert r.exists("sesgate:usage:domain:<>")
    assert not r.exists("sesgate:none")


def test_pause_replies_as_documented(redis_server, policyd_factory):
    """Each pause key of sesgate-redis(7) gives the reply of
    sesgate-policyd(8) that names it."""
    text = troff_text(read("man", "sesgate-policyd.8"))
    for form in ["for this account: reason", "for sender id: reason",
                 "for sender sender: reason", "for domain domain: reason"]:
        assert "454 4.7.0 Sending paused " + form in text, form
    r = redis_server.client()
    p = policyd_factory(policyd={"verify_sender": "no"})
    c = p.connect()

    def ask():
        return c.ask(sender="Bob@Example.COM", recipient="x@example.net",
                     sasl_username="alice")

    pre = "454 4.7.0 Sending paused for "
    r.set("sesgate:pause:domain:example.com", "d")
    assert ask() == pre + "domain example.com: d"
    r.set("sesgate:pause:sender:bob@example.com", "")
    assert ask() == pre + "sender bob@example.com: paused by the administrator"
    r.set("sesgate:pause:sender:alice", "u")
    assert ask() == pre + "sender alice: u"
    r.set("sesgate:pause:account", "a")
    assert ask() == pre + "this account: a"
    r.delete("sesgate:pause:account", "sesgate:pause:sender:alice",
             "sesgate:pause:sender:bob@example.com",
             "sesgate:pause:domain:example.com")
    assert ask() == "DUNNO"
    c.close()
    assert " decision=paused level=sender " in p.logtext()


# -- sesgate-policyd(8) ----------------------------------------------------

def c_strings(src):
    """Adjacent C string literals joined, in order."""
    out = []
    for m in re.finditer(r'"(?:[^"\\\n]|\\.)*"(?:\s*"(?:[^"\\\n]|\\.)*")*',
                         src):
        out.append("".join(re.findall(r'"((?:[^"\\\n]|\\.)*)"',
                                      m.group(0))))
    return out


def test_policyd_man_page_has_every_reply():
    replies = [s for s in c_strings(read("policyd", "decide.c"))
               if re.match(r"(\d{3} \d\.\d\.\d+ |DEFER(_IF_PERMIT)? "
                           r"\d\.\d\.\d+ )", s)]
    assert len(replies) >= 13, replies
    text = troff_text(read("man", "sesgate-policyd.8"))
    for reply in replies:
        pieces = re.split(r"%[-0-9.]*l*[sd]", reply)
        pattern = ".{1,40}?".join(re.escape(p) for p in pieces)
        assert re.search(pattern, text), f"reply {reply!r} not in the page"


# -- rendering, Postfix fragments ------------------------------------------

MAN_PAGES = ["sesgate-policyd.8", "sesgate.conf.5", "sesgate-redis.7"]


@pytest.mark.parametrize("page", MAN_PAGES + sorted(
    os.path.basename(p) for p in glob.glob(os.path.join(MAN, "*.[1-8]"))
    if os.path.basename(p) not in MAN_PAGES))
def test_man_page_renders_without_warnings(page):
    groff = shutil.which("groff")
    assert groff, "groff is missing (Debian package groff-base)"
    path = os.path.join(MAN, page)
    r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", path],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = subprocess.run([groff, "-man", "-Tutf8", "-ww", path],
                       capture_output=True, text=True, timeout=30)
    text = re.sub(".\b", "", r.stdout)   # bold and underline overstrikes
    title = page.rsplit(".", 1)[0].upper()
    assert text.startswith(title + "(") and "\nNAME\n" in text


def test_postfix_fragments(tmp_path, parser_keys):
    postconf = shutil.which("postconf") or "/usr/sbin/postconf"
    assert os.path.exists(postconf), "postconf is missing (package postfix)"
    (tmp_path / "main.cf").write_text(read("conf", "main.cf"))
    # The fragment replaces the submission entry of a stock master.cf.
    (tmp_path / "master.cf").write_text(
        "smtp      inet  n       -       y       -       -       smtpd\n"
        "smtp      unix  -       -       y       -       -       smtp\n"
        + read("conf", "master.cf"))
    out = {}
    for flag in ("-n", "-M", "-P"):
        r = subprocess.run([postconf, "-c", str(tmp_path), flag],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and r.stderr == "", (flag, r.stderr)
        out[flag] = r.stdout
    main = dict(line.split(" = ", 1) for line in out["-n"].splitlines())
    listen = parser_keys[("policyd", "listen")]
    restr = [w.strip() for w in
             main["sesgate_submission_recipient_restrictions"].split(",")]
    # The policy check is first, before the permit that would skip it.
    assert restr == [f"check_policy_service {listen}",
                     "permit_sasl_authenticated", "reject"]
    assert main["smtp_destination_recipient_limit"] == "50"
    assert ("submission/inet/smtpd_recipient_restrictions = "
            "$sesgate_submission_recipient_restrictions") in out["-P"]


# -- README.md ---------------------------------------------------------------

def test_readme_tour(policyd_factory):
    """Every "$ command" of README's tour, run against a real Redis and
    sesgate-policyd with the tour's configuration, prints what README
    shows (the suppression time aside)."""
    text = read("README.md").split("## A five-minute tour", 1)[1]
    text = text.split("\n## ", 1)[0]
    lines = [l[4:] if l.startswith("    ") else None
             for l in text.splitlines()]
    start = lines.index("ask() {")
    func = "\n".join(lines[start:lines.index("}", start) + 1])
    conf = re.search(r"cat > /tmp/sesgate.conf <<'EOF'\n(.*?)\nEOF",
                     "\n".join(l or "" for l in lines), re.S).group(1)
    assert "account_max_24h = 3" in conf and "inet:127.0.0.1:10031" in conf
    p = policyd_factory(policyd={"account_max_24h": "3"})
    func = func.replace("127.0.0.1/10031", f"127.0.0.1/{p.port}")
    # A "$ command" line, then its output up to a blank or prose line.
    steps, cur = [], None
    for line in lines:
        if line is None or not line.strip():
            cur = None
        elif line.startswith("$ "):
            cur = (line[2:], [])
            steps.append(cur)
        elif cur is not None:
            cur[1].append(line)
    assert len(steps) == 11
    stamp = re.compile(r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    for cmd, want in steps:
        real = cmd.replace("build/", BUILD + "/").replace(
            "/tmp/sesgate.conf", p.conf)
        out = subprocess.run(["bash", "-c", func + "\n" + real], cwd=TOP,
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, (cmd, out.stderr)
        got = [stamp.sub("since T", l.rstrip())
               for l in out.stdout.splitlines()]
        if want:
            assert got == [stamp.sub("since T", w.rstrip()) for w in want], cmd


def test_install_lists_every_package():
    """INSTALL names every package contrib/install-deps installs."""
    pkgs = re.search(r'PKGS="([^"]*)"', read("contrib", "install-deps"))
    pkgs = set(pkgs.group(1).split())
    assert "libhiredis-dev" in pkgs
    text = read("INSTALL").split("1. Build dependencies", 1)[1]
    text = text.split("\n2. ", 1)[0]
    words = set()
    for line in text.splitlines():
        if line.startswith("    "):
            words.update(line.split())
    assert sorted(pkgs - words) == []


def test_policyd_man_page_has_every_decision_word():
    """The decision= words of the log lines (decide.c) are all listed in
    LOGGING of sesgate-policyd(8)."""
    src = read("policyd", "decide.c")
    words = set(re.findall(r'decide_set\(d, "([a-z-]+)"', src))
    words |= set(re.findall(r'd->why = "([a-z-]+)"', src))
    words |= set(re.findall(r'decide_unverified\([^;]*"([a-z-]+)"\)', src,
                            re.S))
    assert {"accept", "quota", "rate", "unverified-sender"} <= words
    page = read("man", "sesgate-policyd.8")
    logging = troff_text(page.split(".SH LOGGING", 1)[1].split(".SH ")[0])
    assert sorted(w for w in words if not re.search(
        r"(?<![\w-])%s(?![\w-])" % re.escape(w), logging)) == []
