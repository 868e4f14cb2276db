"""JSON logs on stderr, each line carrying the service, request id and trace id."""

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from newsflow_kit.context import request_id_var, trace_id, traceparent_var


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id_var.get()
        record.trace_id = trace_id(traceparent_var.get())
        return True


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    """Configures the root logger once per process; quiets chatty libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter(service))
    if json:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s %(trace_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        # For a person at a terminal (`make up`): every line starts with the role that wrote it.
        handler.setFormatter(
            logging.Formatter("%(service)-16s | %(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("elastic_transport", "httpx", "httpcore", "pymongo", "uvicorn.access", "trafilatura"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
