"""The Streamlit app's metrics endpoint (off by default, ODORDIFF_METRICS_PORT) serves the same registry as the
API, with the core's cache counts synced at scrape time."""
from __future__ import annotations

import httpx
import pytest
from _servers import free_port

from app_ui.metrics import start_metrics_server
from odordiff_core.cache import STATS
from odordiff_core.config import Settings
from odordiff_core.errors import InvalidInput


def test_the_metrics_port_is_off_by_default_and_read_from_the_environment(monkeypatch):
    monkeypatch.delenv("ODORDIFF_METRICS_PORT", raising=False)
    assert Settings.from_env().metrics_port is None
    monkeypatch.setenv("ODORDIFF_METRICS_PORT", "9101")
    assert Settings.from_env().metrics_port == 9101
    for bad in ("0", "70000", "http", "-1"):
        monkeypatch.setenv("ODORDIFF_METRICS_PORT", bad)
        with pytest.raises(InvalidInput, match="ODORDIFF_METRICS_PORT"):
            Settings.from_env()


def test_the_app_serves_the_shared_registry_with_cache_counts_on_its_port():
    port = free_port()
    start_metrics_server(port)
    STATS.record("session", "hit")  # what an app cache layer records; exported by the next scrape
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'odordiff_cache_lookups_total{layer="session",outcome="hit"}' in text
    assert "# TYPE odordiff_http_requests_total counter" in text  # the API's definitions, same registry
    assert "process_cpu_seconds_total" in text
    start_metrics_server(port)  # a busy port is logged, never raised: the app starts anyway
