"""The site's static files: fingerprinted addresses are cached for a year, anything else revalidates."""

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from newsflow_gateway.web.rendering import STATIC_DIR, fingerprint

LONG_LIVED = "public, max-age=31536000, immutable"


class SiteStatic(StaticFiles):
    """``/static/site.css?v=<hash of its content>`` may be kept forever; ``/static/site.css`` may not."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        version = dict(
            pair.split("=", 1) for pair in scope.get("query_string", b"").decode().split("&") if "=" in pair
        ).get("v")
        fresh = response.status_code == 200 and version is not None and _matches(path, version)
        response.headers["Cache-Control"] = LONG_LIVED if fresh else "no-cache"
        return response


def _matches(path: str, version: str) -> bool:
    try:
        return fingerprint(path) == version
    except OSError:
        return False


def static_files() -> SiteStatic:
    """The site's CSS, script and icon, mounted at ``/static``."""
    return SiteStatic(directory=STATIC_DIR)
