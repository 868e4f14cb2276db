"""What browsers get besides the pages: HTML error pages, a favicon and the API docs without a CDN.

An error is an HTML page when the request asks for HTML (``Accept: text/html``, as browsers send on
navigation) and is not an API call; API clients keep getting ``application/problem+json``.
"""

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from newsflow_gateway.web.rendering import STATIC_DIR, page, static
from newsflow_kit.errors import InvalidInput, NewsflowError, NotFound

Handler = Callable[[Request, Any], Response | Awaitable[Response]]
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_ASSETS_URL = "/docs-assets"
API_PREFIXES = ("/v1/", "/v2/", "/health", "/metrics", "/openapi.json")


def wants_html(request: Request) -> bool:
    """A browser navigating here (not an API client, nor a script calling the API)."""
    if request.url.path.startswith(API_PREFIXES):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/xhtml+xml" in accept


def as_page_error(exc: Exception) -> NewsflowError:
    if isinstance(exc, NewsflowError):
        return exc
    if isinstance(exc, StarletteHTTPException):
        if exc.status_code == 404:
            return NotFound("no such page")
        error = NewsflowError(str(exc.detail), headers=dict(exc.headers or {}))
        error.status = exc.status_code
        error.title = "Request not possible" if exc.status_code < 500 else "Something went wrong"
        return error
    if isinstance(exc, RequestValidationError):
        return InvalidInput("this address has a value the site does not understand")
    return NewsflowError("something went wrong on our side")


def html_errors(app: FastAPI) -> None:
    """Wraps the app's error handlers: browsers get an HTML page with the same status and headers."""
    for kind in (NewsflowError, StarletteHTTPException, RequestValidationError, Exception):
        original = app.exception_handlers.get(kind)
        if original is not None:
            app.add_exception_handler(kind, _either(original))


def _either(original: Handler) -> Handler:
    async def handle(request: Request, exc: Any) -> Response:
        if not wants_html(request):
            return await _answer(original, request, exc)
        if not isinstance(exc, NewsflowError | StarletteHTTPException | RequestValidationError):
            await _answer(original, request, exc)  # logs the unexpected error as the API would
        error = as_page_error(exc)
        context = {"status": error.status, "title": error.title, "detail": error.detail}
        return page(request, "error.html", context, status=error.status, headers=error.headers)

    return handle


async def _answer(handler: Handler, request: Request, exc: Exception) -> Response:
    response = handler(request, exc)
    return await response if inspect.isawaitable(response) else response


def install(app: FastAPI) -> None:
    """HTML errors for browsers, ``/favicon.ico``, and ``/docs`` + ``/redoc`` with packaged assets."""
    html_errors(app)
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml", headers=_DAY)

    spec, title, icon = app.openapi_url or "/openapi.json", f"{app.title} · API", static("favicon.svg")

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        js, css = f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js", f"{DOCS_ASSETS_URL}/swagger-ui.css"
        return get_swagger_ui_html(
            openapi_url=spec, title=title, swagger_js_url=js, swagger_css_url=css, swagger_favicon_url=icon
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        js = f"{DOCS_ASSETS_URL}/redoc.standalone.js"
        return get_redoc_html(
            openapi_url=spec, title=title, redoc_js_url=js, redoc_favicon_url=icon, with_google_fonts=False
        )


_DAY = {"Cache-Control": "public, max-age=86400"}
