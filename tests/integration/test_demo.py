"""make demo runs its scenario end to end and checks every step itself;
here its report (build/demo/report.json) is checked too, step by step. It
can run twice in a row."""
import json
import os
import subprocess

from lab import BUILD, TOP

SIM = "simulator.amazonses.com"


def run_demo():
    env = dict(os.environ, BUILD=os.path.basename(BUILD))
    return subprocess.run([os.path.join(TOP, "contrib", "demo", "run")],
                          cwd=TOP, env=env, capture_output=True, text=True,
                          timeout=300)


def rejected(rcpt, text):
    return f"<{rcpt}>: Recipient address rejected: {text}"


def test_demo_runs_twice():
    for _ in range(2):
        out = run_demo()
        assert out.returncode == 0, out.stdout + out.stderr
        assert "demo: every step answered as expected." in out.stdout
        with open(os.path.join(BUILD, "demo", "report.json")) as f:
            r = json.load(f)
        assert r["failures"] == []
        # Through SES (the simulator) over TLS with AUTH, and signed.
        assert r["delivered"]["auth_user"] == "AKIAIOSFODNN7EXAMPLE"
        assert r["delivered"]["dkim"] == ["d=example.com pass"]
        # The mailbox simulator's notifications became suppressions.
        assert r["bounce"]["reason"] == "BOUNCE"
        assert r["bounce"]["next"].startswith(
            "550 5.1.1 " + rejected(f"bounce@{SIM}", "Address is on the "
                                    "suppression list (reason BOUNCE,"))
        assert r["complaint"]["reason"] == "COMPLAINT"
        assert r["complaint"]["next"].startswith(
            "550 5.1.1 " + rejected(f"complaint@{SIM}", "Address is on "
                                    "the suppression list (reason "
                                    "COMPLAINT,"))
        assert r["unverified"] == "554 5.7.1 " + rejected(
            "bob@dest.example", "Message rejected: Email address is not "
            "verified. The following identities failed the check in "
            "region us-east-1: mallory@unverified.example")
        assert r["recipients_51"] == "452 4.5.3 " + rejected(
            "r51@dest.example", "Too many recipients")
        assert r["rate"] == "454 4.7.0 " + rejected(
            "s3@dest.example", "Throttling failure: Maximum sending rate "
            "exceeded.")
        assert r["quota"] == "454 4.7.0 " + rejected(
            "q4@dest.example", "Throttling failure: Daily message quota "
            "exceeded.")
        assert r["paused"] == "454 4.7.0 " + rejected(
            "bob@dest.example", "Sending paused for this account: bounce "
            "rate review")
        assert r["attachment"] == (
            '554 5.6.1 Transaction failed: attachment "setup.exe": SES '
            "does not accept files ending in .exe")
        ar = r["inbound"]["authentication_results"]
        assert ar.startswith("mx.example.com; spf=pass "
                             "smtp.mailfrom=carol@partner.example; "
                             "dkim=pass header.d=partner.example "
                             "header.s=mx2026 header.a=rsa-sha256 ")
        assert ar.endswith("; dmarc=pass (p=reject dis=none) "
                           "header.from=partner.example")
        assert r["inbound"]["forged"] == (
            "550 5.7.1 Message rejected: DMARC policy of partner.example "
            "(p=reject) is not satisfied")
        m = r["metrics_moved"]
        assert m['sesgate_ses_events_total{event="bounce_permanent"}'] == 1
        assert m['sesgate_ses_events_total{event="complaint"}'] == 1
        assert m['sesgate_feedbackd_notifications_total{outcome="stored"}'] \
            == 2
        assert m['sesgate_policy_decisions_total{decision="suppressed"}'] \
            == 2
        assert m["sesgate_suppressed"] == 2
        # Every message Postfix accepted reached SES: bob, bounce@,
        # complaint@, the 50 recipients, erin, dave, bob after the pause,
        # and the inbound one.
        assert r["ses_messages"] == 8
