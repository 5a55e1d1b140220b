"""The app's Prometheus endpoint: the API's metrics registry (`odordiff_api.metrics`) served on its own port.

Off by default; `ODORDIFF_METRICS_PORT=9101 make run` turns it on (Settings.metrics_port). Started once per
process by `app_ui.serve` (the server launcher), never by a page run, so a rerun cannot bind the port twice. The
core's cache counts and the model versions are the same series the API exports; Prometheus tells the two
apart by its scrape job.
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def start_metrics_server(port: int) -> None:
    """Serves /metrics on `port` (all interfaces: Prometheus scrapes it from another host) in a daemon thread.

    A port already in use is logged, not raised: the app itself must start whatever happens to its metrics.
    """
    from prometheus_client import start_http_server

    from odordiff_api.metrics import SyncedRegistry

    try:
        start_http_server(port, registry=SyncedRegistry())
    except OSError as exc:
        log.warning("metrics not served: port %d is not free (%s); set ODORDIFF_METRICS_PORT to a free port", port, exc)
        return
    log.info("Prometheus metrics on :%d/metrics", port)


def record_models(pipeline) -> None:
    """Exports the loaded pipeline's model versions (`odordiff_model_info`)."""
    from odordiff_api.metrics import record_model_versions

    record_model_versions(pipeline.model_version)


def record_generation(seconds: float, result) -> None:
    """Counts one computed generation (not a cache hit) in the shared registry: latency, molecules sampled, kept."""
    from odordiff_api.metrics import record_generation as record

    record(seconds, result.n_sampled, len(result.candidates))
