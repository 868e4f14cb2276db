"""Fetching feeds and pages without becoming an SSRF proxy.

Only http/https; the host is resolved first and every address must be public (no loopback,
private, link-local — which covers cloud metadata at 169.254.169.254 —, multicast, reserved or
unspecified addresses), unless ``host[:port]`` is in the allow-list. The connection goes to the
address that was checked (pinned: no second DNS answer can swap it), every redirect is checked
again, at most ``max_redirects`` of them, and bodies are read under a size cap.
"""

import asyncio
import ipaddress
import socket
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from newsflow_ingest.metrics import FETCH_REFUSED
from newsflow_ingest.settings import FetchSettings

REDIRECTS = {301, 302, 303, 307, 308}


class FetchRefused(Exception):
    """The URL may not be fetched, or its answer broke a limit; ``reason`` is a short code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        FETCH_REFUSED.labels(reason).inc()


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes


class SafeFetcher:
    """An HTTP client that enforces the rules in the module docstring, with a per-host concurrency limit."""

    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings
        self.allow = {h.lower() for h in settings.allow_hosts}
        self.client = httpx.AsyncClient(
            timeout=settings.timeout_s, follow_redirects=False, headers={"User-Agent": settings.user_agent}
        )
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.per_host_concurrency)
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def get(self, url: str, *, max_bytes: int, headers: dict[str, str] | None = None) -> Fetched:
        for _ in range(self.settings.max_redirects + 1):
            pinned, host, host_header = await self._pin(url)
            async with (
                self._hosts[host],
                self.client.stream(
                    "GET", pinned, headers={**(headers or {}), "Host": host_header}, extensions={"sni_hostname": host}
                ) as resp,
            ):
                if resp.status_code in REDIRECTS and "location" in resp.headers:
                    url = urljoin(url, resp.headers["location"])
                    continue
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchRefused("too-large", f"{url} declares {declared} bytes")
                body = bytearray()
                async for chunk in resp.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise FetchRefused("too-large", f"{url} is over {max_bytes} bytes")
                return Fetched(url=url, status=resp.status_code, headers=resp.headers, body=bytes(body))
        raise FetchRefused("too-many-redirects", f"more than {self.settings.max_redirects} redirects")

    async def _pin(self, url: str) -> tuple[str, str, str]:
        """The URL rewritten to a checked address, the host name, and the Host header."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchRefused("scheme", f"only http(s) URLs with a host may be fetched: {url[:200]}")
        host = parts.hostname.lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise FetchRefused("dns", f"{host}: {exc}") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        allowed = host in self.allow or f"{host}:{port}" in self.allow
        if not addresses:
            raise FetchRefused("dns", f"{host} has no address")
        if not allowed:
            for address in addresses:
                if not is_public(address):
                    raise FetchRefused("private-address", f"{host} resolves to a non-public address")
        address = addresses[0]
        literal = f"[{address}]" if address.version == 6 else str(address)
        default_port = (parts.scheme == "https" and port == 443) or (parts.scheme == "http" and port == 80)
        host_header = host if default_port else f"{host}:{port}"
        return urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, "")), host, host_header


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified)
