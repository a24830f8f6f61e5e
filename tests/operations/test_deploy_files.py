"""The sample deployment files under deploy/ agree with the code: nginx's body limit is the
app's, it sends the forwarded headers the app believes from RISKATLAS_TRUSTED_PROXIES, the
environment file names only real settings, and systemd accepts the units."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from riskatlas.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ["riskatlas.service", "riskatlas-sync.service", "riskatlas-sync.timer"]
NGINX_SIZE = re.compile(r"^\s*client_max_body_size\s+(\d+)([kKmMgG]?);", re.M)


def _bytes(number: str, unit: str) -> int:
    return int(number) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit.lower()]


def _environment() -> dict[str, str]:
    lines = (DEPLOY / "riskatlas.env.example").read_text(encoding="utf-8").splitlines()
    pairs = [line.lstrip("#").split("=", 1) for line in lines
             if re.match(r"^#?RISKATLAS_[A-Z_]+=", line)]
    return {name: value for name, value in pairs}


def test_nginx_limits_bodies_as_the_app_does() -> None:
    conf = (DEPLOY / "nginx" / "riskatlas.conf").read_text(encoding="utf-8")
    sizes = NGINX_SIZE.findall(conf)
    assert sizes, "no client_max_body_size"
    default = Settings.model_fields["max_body_bytes"].default
    assert [_bytes(*size) for size in sizes] == [default] * len(sizes)
    assert int(_environment()["RISKATLAS_MAX_BODY_BYTES"]) == default


def test_nginx_sends_the_forwarded_headers_the_app_believes() -> None:
    conf = (DEPLOY / "nginx" / "riskatlas.conf").read_text(encoding="utf-8")
    passes = conf.count("proxy_pass http://riskatlas;")
    assert passes >= 1
    # Every location that proxies sets both headers; X-Forwarded-For is the connecting address.
    assert conf.count("proxy_set_header X-Forwarded-For $remote_addr;") == passes
    assert conf.count("proxy_set_header X-Forwarded-Proto $scheme;") == passes
    assert "ssl_certificate " in conf and "return 301 https://" in conf
    upstream = re.search(r"upstream riskatlas \{[^}]*?\n\s*server (127\.0\.0\.1):(\d+);", conf)
    assert upstream is not None
    env = _environment()
    assert (env["RISKATLAS_HOST"], env["RISKATLAS_PORT"]) == upstream.groups()
    # nginx connects from the loopback: that address is the one trusted proxy.
    settings = Settings(trusted_proxies=env["RISKATLAS_TRUSTED_PROXIES"])
    assert settings.trusted_proxy_list == ["127.0.0.1"]


def test_the_environment_file_names_only_settings_and_no_secret() -> None:
    env = _environment()
    known = {f"RISKATLAS_{name.upper()}" for name in Settings.model_fields}
    assert set(env) - known - {"RISKATLAS_PEER_TOKEN"} == set()
    assert env["RISKATLAS_COOKIE_SECURE"] == "true"
    assert "CHANGE-ME" in env["RISKATLAS_DATABASE_URL"]  # a placeholder, not a password
    assert env["RISKATLAS_ADMIN_PASSWORD"] == "" and env["RISKATLAS_PEER_TOKEN"] == ""


def test_the_units_run_as_a_dedicated_user_with_the_environment_file() -> None:
    for unit in UNITS[:2]:
        text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
        assert "User=riskatlas\n" in text and "NoNewPrivileges=yes\n" in text, unit
        assert "EnvironmentFile=/etc/riskatlas/riskatlas.env\n" in text, unit
        assert "RISKATLAS_DATABASE_URL" not in text.split("[Service]")[1], unit
    server = (DEPLOY / "systemd" / "riskatlas.service").read_text(encoding="utf-8")
    assert "Restart=on-failure\n" in server and "serve --workers" in server


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the units are not verified")
    for unit in UNITS:  # the command they run must exist for verify: /bin/true stands in
        text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
        (tmp_path / unit).write_text(
            text.replace("/opt/riskatlas/venv/bin/riskatlas", "/bin/true"), encoding="utf-8")
    done = subprocess.run([analyze, "verify", *(str(tmp_path / u) for u in UNITS)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
