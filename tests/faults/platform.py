"""Every role of every service as its own process, wired as `make up` wires them (used by the fault
matrix and by `make soak`). ``common`` carries the settings pointing at the servers."""

from newsflow_kit.testing import ServiceProcess, free_port, role_process

# What the load generators need: no per-address throttling of the test's own clients.
UNTHROTTLED = {
    "NEWSFLOW_LIMITS__ANONYMOUS_BURST": "100000",
    "NEWSFLOW_LIMITS__ANONYMOUS_PER_S": "10000",
    "NEWSFLOW_LIMITS__KEY_BURST": "100000",
    "NEWSFLOW_LIMITS__KEY_PER_S": "10000",
}


def start_roles(
    common: dict[str, str],
    roles: dict[str, ServiceProcess],
    *,
    databases: dict[str, str] | None = None,
) -> dict[str, ServiceProcess]:
    """Starts the roles into ``roles`` (filled as they start, so a caller can stop a partial start).

    ``databases``: a MongoDB database name per service (default: each service's own default).
    """

    def start(name: str, extra: dict[str, str] | None = None, *, http: bool = True) -> ServiceProcess:
        service, role = name.split("-", 1)
        db = {"NEWSFLOW_MONGO__DATABASE": databases[service]} if databases and service in databases else {}
        roles[name] = role_process(service, role, common | db | (extra or {}), http=http)
        return roles[name].start(timeout=180)

    ingest = start("ingest-api")
    start("ingest-relay", http=False)
    start("ingest-poller", http=False)
    feeds = free_port()
    start(
        "ingest-demo",
        {
            "NEWSFLOW_DEMO__FEEDS_PORT": str(feeds),
            "NEWSFLOW_DEMO__INGEST_URL": ingest.url,
            "NEWSFLOW_DEMO__PUBLISH_EVERY_S": "0",
            "NEWSFLOW_FETCH__ALLOW_HOSTS": f'["127.0.0.1:{feeds}"]',
        },
        http=False,
    )
    index = start("index-api")
    start("index-worker", http=False)
    comments = start("comments-api")
    backing = {
        "NEWSFLOW_SERVICES__INGEST_URL": ingest.url,
        "NEWSFLOW_SERVICES__INDEX_URL": index.url,
        "NEWSFLOW_SERVICES__COMMENTS_URL": comments.url,
    }
    start("gateway-api", backing | UNTHROTTLED)
    return roles
