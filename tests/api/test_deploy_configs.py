"""The shipped deployment files are valid for the tools that read them: Prometheus's config and alert rules
(`promtool check config|rules`, and `promtool test rules`: each alert fires on its series), nginx's config
(`nginx -t`, compose host names mapped to loopback) and docker-compose.yml (parsed: the services it documents)."""
from __future__ import annotations

import re
import subprocess

import yaml
from _servers import DEPLOY, REPO, Nginx, binary, free_port, nginx_conf

from odordiff_api.models import MAX_BODY_BYTES


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("promtool", "prometheus"), *args], cwd=DEPLOY / "prometheus", capture_output=True,
                          text=True, timeout=60)


def test_prometheus_config_and_alert_rules_pass_promtool():
    for args in (("check", "config", "prometheus.yml"), ("check", "rules", "alerts.yml")):
        out = promtool(*args)
        assert out.returncode == 0, out.stdout + out.stderr
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"][0]["rules"]
    names = {r["alert"] for r in rules}
    assert {"OdorDiffGenerationSlow", "OdorDiffHighErrorRate", "OdorDiffRedisUnavailable"} <= names


def test_each_alert_fires_on_the_series_it_watches():
    out = promtool("test", "rules", "alerts_test.yml")
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_nginx_config_passes_nginx_t(tmp_path):
    shipped = (DEPLOY / "nginx" / "nginx.conf").read_text()
    http_body = re.search(r"^http \{(.*)\}\s*$", shipped, re.S | re.M).group(1)
    http_body = http_body.replace("/etc/nginx/odordiff/", f"{DEPLOY / 'nginx'}/")
    for host in ("app1", "app2", "api1", "api2"):  # compose service names -> loopback (nginx -t resolves them)
        http_body = re.sub(rf"\b{host}:\d+", f"127.0.0.1:{free_port()}", http_body)
    http_body = re.sub(r"listen (80|8000);", lambda m: f"listen 127.0.0.1:{free_port()};", http_body)
    out = Nginx(nginx_conf(http_body, tmp_path), tmp_path).test_config()
    assert out.returncode == 0, out.stderr
    assert "ip_hash" in shipped  # the app's upstream is sticky (one Streamlit session per process)
    api = (DEPLOY / "nginx" / "api_locations.conf").read_text()
    assert "client_max_body_size 1m;" in api and MAX_BODY_BYTES == 1 << 20


def test_docker_compose_documents_every_service():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = set(compose["services"])
    assert {"redis", "postgres", "nginx", "prometheus", "app1", "app2", "api1", "api2"} <= services
    for api in ("api1", "api2"):
        env = compose["services"][api]["environment"]
        assert env["ODORDIFF_REDIS_URL"].startswith("redis://redis:")
        assert env["ODORDIFF_DATABASE_URL"].startswith("postgresql+psycopg://")
