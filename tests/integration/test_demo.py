"""make demo runs its scenario end to end and checks every step itself; it
can run twice in a row."""
import os
import subprocess

from lab import BUILD, TOP


def run_demo():
    env = dict(os.environ, BUILD=os.path.basename(BUILD))
    return subprocess.run([os.path.join(TOP, "contrib", "demo", "run")],
                          cwd=TOP, env=env, capture_output=True, text=True,
                          timeout=300)


def test_demo_runs_twice():
    for _ in range(2):
        out = run_demo()
        assert out.returncode == 0, out.stdout + out.stderr
        assert "demo: every step answered as expected." in out.stdout
        assert ("454 4.7.0 <q4@dest.example>: Recipient address rejected: "
                "Throttling failure: Daily message quota exceeded."
                in out.stdout)
