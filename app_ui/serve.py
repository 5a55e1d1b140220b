"""`python -m app_ui.serve [streamlit run flags]`: `streamlit run app.py`, with the models loaded at server start.

Streamlit runs app.py only when a browser connects, so under a plain `streamlit run app.py` the first
visitor waits for the models (several seconds). This launcher hands over to Streamlit's own CLI in this
process, after starting `resources.warm_up` in a background thread that waits for Streamlit's runtime (flags
parsed, server starting). `st.cache_resource` caches are process-global, so the script runs find the models
already loaded. Any `streamlit run` flag passes through (`--server.port 8501 --server.headless true ...`).
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"
RUNTIME_WAIT_S = 60.0  # warm up anyway after this long without a Streamlit runtime
WARM_UP_THREAD = "odordiff-warm-up"


class _NotFromWarmUp(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" warning for the warm-up thread: it loads models, draws nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != WARM_UP_THREAD


def _warm_up_once_serving(metrics: bool = False) -> None:
    """Waits for Streamlit's runtime (config parsed, server starting), then loads the models (and, with metrics on,
    exports their versions)."""
    from streamlit import runtime

    from app_ui import resources

    deadline = time.monotonic() + RUNTIME_WAIT_S
    while not runtime.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    resources.warm_up()
    if metrics:
        from app_ui.metrics import record_models
        from odordiff_core.errors import OdorDiffError

        try:
            record_models(resources.get_pipeline())
        except OdorDiffError:  # the page shows why the models are missing; the metrics just lack their versions
            pass


def main(argv: list[str] | None = None) -> None:
    """Starts the model warm-up thread, then `streamlit run app.py <argv>` in this process (does not return)."""
    from streamlit.web import cli

    from odordiff_core.config import Settings

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_NotFromWarmUp())
    metrics_port = Settings.from_env().metrics_port  # ODORDIFF_METRICS_PORT; None (the default): no metrics server
    if metrics_port is not None:
        from app_ui.metrics import start_metrics_server

        start_metrics_server(metrics_port)
    threading.Thread(target=_warm_up_once_serving, args=(metrics_port is not None,), name=WARM_UP_THREAD,
                     daemon=True).start()
    cli.main(["run", str(APP), *(sys.argv[1:] if argv is None else argv)], prog_name="streamlit")


if __name__ == "__main__":
    main()
