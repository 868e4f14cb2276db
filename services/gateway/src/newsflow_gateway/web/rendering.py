"""The pages' Jinja environment (autoescape everywhere) and the headers every page carries."""

import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from newsflow_gateway.backends import segment
from newsflow_gateway.compat.outfeeds import alternates
from newsflow_gateway.web import markup
from newsflow_kit.text import shorten

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
# Scripts and styles only from our own static files (no inline code), images from us or any https
# host (article images), EventSource only to ourselves, forms only post to ourselves.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}


@cache
def templates() -> Jinja2Templates:
    """Built on first use; ``autoescape=True`` for every template, whatever its file name."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        segment=segment,
        clean_body=markup.clean_body,
        highlighted=markup.highlighted,
        http_url=markup.http_url,
        https_url=markup.https_url,
        when=markup.when,
        present=markup.present,
        shorten=shorten,
    )
    env.globals["query"] = query
    env.globals["static"] = static
    return Jinja2Templates(env=env)


@cache
def fingerprint(name: str) -> str:
    """A short hash of a static file's content (read once per process: the files ship with the package)."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def static(name: str) -> str:
    """The fingerprinted address of a static file: cached for a year, a new version gets a new address."""
    return f"/static/{name}?v={fingerprint(name)}"


def query(**params: str | None) -> str:
    """A query string of the non-empty ``params`` (links never carry ``tag=`` with nothing in it)."""
    return urlencode({k: v for k, v in params.items() if v})


def page(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Renders a template into an HTML response with the page headers."""
    feeds = alternates(request.url.path, dict(request.query_params))  # feed autodiscovery (docs/compat.md)
    values = {"notices": [], "q": "", "nav": "", "source_names": {}, "feeds": feeds, **context}
    return templates().TemplateResponse(
        request, name, values, status_code=status, headers={**PAGE_HEADERS, **(headers or {})}
    )
