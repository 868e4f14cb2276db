"""Every role of `deploy/local/Procfile` (the one list of roles) as its own process, wired as `make up`
wires them; used by the fault matrix and by `make soak`. ``common`` carries the settings pointing at
the servers. A role added to the Procfile is started (and killed by the matrix) without a change here.
"""

import re
from pathlib import Path

from newsflow_kit.testing import ServiceProcess, free_port, role_process

PROCFILE = Path(__file__).resolve().parents[2] / "deploy/local/Procfile"
ROLE = re.compile(r"^([A-Za-z0-9_-]+):\s*\S*newsflow-(\w+)\s+(\w+)\s*$")
BACKENDS = ("ingest", "index", "comments")  # what the gateway calls; their api roles start first

# What the load generators need: no per-address throttling of the test's own clients.
UNTHROTTLED = {
    "NEWSFLOW_LIMITS__ANONYMOUS_BURST": "100000",
    "NEWSFLOW_LIMITS__ANONYMOUS_PER_S": "10000",
    "NEWSFLOW_LIMITS__KEY_BURST": "100000",
    "NEWSFLOW_LIMITS__KEY_PER_S": "10000",
}


def procfile_roles() -> list[tuple[str, str, str]]:
    """(name, service, role) of every `newsflow-<service> <role>` line; `ready` and others are not roles."""
    out = []
    for line in PROCFILE.read_text().splitlines():
        if (match := ROLE.match(line.strip())) and not line.lstrip().startswith("#"):
            out.append((match.group(1), match.group(2), match.group(3)))
    return out


def start_roles(
    common: dict[str, str],
    roles: dict[str, ServiceProcess],
    *,
    databases: dict[str, str] | None = None,
) -> dict[str, ServiceProcess]:
    """Starts the roles into ``roles`` (filled as they start, so a caller can stop a partial start).

    Named ``<service>-<role>`` (the Procfile's `demo` is `ingest-demo`). ``databases``: a MongoDB
    database name per service (default: each service's own default).
    """

    def start(service: str, role: str, extra: dict[str, str] | None = None) -> ServiceProcess:
        db = {"NEWSFLOW_MONGO__DATABASE": databases[service]} if databases and service in databases else {}
        proc = role_process(service, role, common | db | (extra or {}), http=role == "api")
        roles[f"{service}-{role}"] = proc
        return proc.start(timeout=180)

    listed = procfile_roles()
    apis = {service: start(service, "api") for service in BACKENDS if (service, "api") in _pairs(listed)}
    feeds = free_port()
    extra = {
        ("ingest", "demo"): {
            "NEWSFLOW_DEMO__FEEDS_PORT": str(feeds),
            "NEWSFLOW_DEMO__INGEST_URL": apis["ingest"].url,
            "NEWSFLOW_DEMO__PUBLISH_EVERY_S": "0",
            "NEWSFLOW_FETCH__ALLOW_HOSTS": f'["127.0.0.1:{feeds}"]',
        },
        ("gateway", "api"): {f"NEWSFLOW_SERVICES__{s.upper()}_URL": p.url for s, p in apis.items()} | UNTHROTTLED,
    }
    rest = [(s, r) for _, s, r in listed if s not in apis or r != "api"]
    for service, role in sorted(rest, key=lambda pair: pair == ("gateway", "api")):
        start(service, role, extra.get((service, role)))
    return roles


def _pairs(listed: list[tuple[str, str, str]]) -> set[tuple[str, str]]:
    return {(service, role) for _, service, role in listed}
