"""The gateway's small web site: home, article (with comments), search, tag and source pages.

Server-rendered with Jinja2 (autoescape everywhere), readable without JavaScript; one static
script keeps relative times current and adds live updates on list pages through ``/v1/stream``.
"""

from newsflow_gateway.web.browser import install
from newsflow_gateway.web.routes import router
from newsflow_gateway.web.static import static_files

__all__ = ["install", "router", "static_files"]
