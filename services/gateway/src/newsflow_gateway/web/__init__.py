"""The gateway's small web site: home, article (with comments), search, tag and source pages.

Server-rendered with Jinja2 (autoescape everywhere), readable without JavaScript; one static
script adds live updates on list pages through ``/v1/stream``.
"""

from starlette.staticfiles import StaticFiles

from newsflow_gateway.web.rendering import STATIC_DIR
from newsflow_gateway.web.routes import router


def static_files() -> StaticFiles:
    """The site's CSS and script, mounted at ``/static``."""
    return StaticFiles(directory=STATIC_DIR)


__all__ = ["router", "static_files"]
