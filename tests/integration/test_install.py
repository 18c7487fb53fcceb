"""make install and make uninstall honour DESTDIR, PREFIX and SYSCONFDIR,
install every program, man page and example, and never overwrite a
configuration that is already there."""
import os
import stat
import subprocess

from conftest import TOP, BUILD


def make(*args):
    build = os.path.basename(BUILD)
    sanitize = ["SANITIZE=1"] if build == "build-san" else []
    return subprocess.run(["make", "--no-print-directory", "-C", TOP]
                          + sanitize + list(args), capture_output=True,
                          text=True)


def test_install_and_uninstall(tmp_path):
    dest = tmp_path / "root"
    r = make("install", f"DESTDIR={dest}", "PREFIX=/usr",
             "SYSCONFDIR=/etc")
    assert r.returncode == 0, r.stdout + r.stderr
    for path, mode in [("usr/sbin/sesgate-policyd", 0o755),
                       ("usr/sbin/sesgate-feedbackd", 0o755),
                       ("usr/share/man/man8/sesgate-feedbackd.8", 0o644),
                       ("usr/sbin/sesgatectl", 0o755),
                       ("usr/share/man/man8/sesgate-policyd.8", 0o644),
                       ("usr/share/man/man8/sesgatectl.8", 0o644),
                       ("usr/share/man/man5/sesgate.conf.5", 0o644),
                       ("usr/share/man/man7/sesgate-redis.7", 0o644),
                       ("usr/share/doc/sesgate/examples/sesgate.conf", 0o644),
                       ("usr/share/doc/sesgate/examples/sendmail.mc", 0o644),
                       ("usr/lib/systemd/system/sesgate-milter.service",
                        0o644),
                       ("etc/sesgate/sesgate.conf", 0o640)]:
        st = os.stat(dest / path)
        assert stat.S_IMODE(st.st_mode) == mode, path
    # The installed programs find their configuration under SYSCONFDIR.
    out = subprocess.run([str(dest / "usr/sbin/sesgate-policyd"), "-h"],
                         capture_output=True, text=True)
    assert "/etc/sesgate/sesgate.conf" in out.stderr

    # The units name the installed programs and configuration.
    for d in ("policyd", "milter", "feedbackd"):
        unit = (dest / f"usr/lib/systemd/system/sesgate-{d}.service"
                ).read_text()
        assert (f"ExecStart=/usr/sbin/sesgate-{d} -f -c "
                "/etc/sesgate/sesgate.conf\n") in unit
        assert "@SBINDIR@" not in unit and "@SYSCONFDIR@" not in unit

    # A second install keeps the administrator's configuration.
    conf = dest / "etc/sesgate/sesgate.conf"
    conf.write_text("# edited by the administrator\n")
    r = make("install", f"DESTDIR={dest}", "PREFIX=/usr",
             "SYSCONFDIR=/etc")
    assert r.returncode == 0, r.stdout + r.stderr
    assert conf.read_text() == "# edited by the administrator\n"

    r = make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr",
             "SYSCONFDIR=/etc")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (dest / "usr/sbin/sesgate-policyd").exists()
    assert not (dest / "usr/share/man/man8/sesgatectl.8").exists()
    assert not (dest / "usr/lib/systemd/system/sesgate-milter.service"
                ).exists()
    # The configuration is the administrator's: uninstall leaves it.
    assert conf.exists()
