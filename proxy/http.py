"""All outbound HTTP: one shared httpx client per event loop on the aiohttp transport.

httpx's default async transport costs several ms of CPU per request under concurrency on these
machines (see ../shared/NOTES.md); httpx-aiohttp keeps the httpx API at a fraction of the cost.
Redirects are never followed. Link-local and cloud-metadata addresses are refused at connect
time (the resolver filters what DNS returns, so a name cannot smuggle them in); private ranges
are refused unless listed in GATEWAY_ALLOWED_PRIVATE_NETWORKS (local vLLM/Ollama, test fakes).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from django.conf import settings
from httpx_aiohttp import AiohttpTransport

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Always refused, whatever the allowlist says: link-local (incl. 169.254.169.254), metadata
# endpoints of the big clouds, unspecified and multicast addresses.
_NEVER = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128", "224.0.0.0/4", "ff00::/8",
        "100.100.100.200/32", "fd00:ec2::254/128",
    )
)  # fmt: skip
_PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "100.64.0.0/10",
        "::1/128", "fc00::/7",
    )
)  # fmt: skip

_clients: dict[int, httpx.AsyncClient] = {}
_transport_factory: Callable[[], httpx.AsyncBaseTransport] | None = None


class UpstreamAddressRefused(OSError):
    """The upstream resolved to an address the gateway must not call."""


@cache
def _allowed_private() -> tuple[IPNetwork, ...]:
    return tuple(
        ipaddress.ip_network(n, strict=False) for n in settings.GATEWAY_ALLOWED_PRIVATE_NETWORKS
    )


def address_allowed(ip: str) -> bool:
    """Whether the gateway may open a connection to this IP address."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    if any(addr in net for net in _NEVER):
        return False
    if any(addr in net for net in _PRIVATE) or addr.is_private:
        return any(addr in net for net in _allowed_private())
    return True


def check_url(url: str) -> None:
    """Refuse a literal-IP upstream URL up front (aiohttp skips the resolver for IP literals)."""
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    if not address_allowed(host):
        raise UpstreamAddressRefused(f"upstream address {host} is not allowed")


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, then drops addresses we must not connect to."""

    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [r for r in results if address_allowed(r["host"])]
        if not allowed:
            raise UpstreamAddressRefused(f"upstream host {host} resolves to a refused address")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def _session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        resolver=GuardedResolver(),
        limit=settings.GATEWAY_UPSTREAM_MAX_CONNECTIONS,
        keepalive_timeout=30,
        ttl_dns_cache=60,
    )
    return aiohttp.ClientSession(connector=connector, auto_decompress=False)


def _default_transport() -> httpx.AsyncBaseTransport:
    return AiohttpTransport(client=_session)


def set_transport_factory(factory: Callable[[], httpx.AsyncBaseTransport] | None) -> None:
    """Tests inject httpx.MockTransport here; None restores the aiohttp transport."""
    global _transport_factory
    _transport_factory = factory
    _clients.clear()


def get_client() -> httpx.AsyncClient:
    """The shared client of the running event loop (never one per request)."""
    loop_id = id(asyncio.get_running_loop())
    client = _clients.get(loop_id)
    if client is None:
        transport = (_transport_factory or _default_transport)()
        client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            timeout=httpx.Timeout(connect=5.0, read=60.0, write=30.0, pool=10.0),
            headers={"user-agent": "secure-gpt-gateway/0.1"},
        )
        _clients[loop_id] = client
    return client


async def close_clients() -> None:
    """Close the client of the running loop (ASGI lifespan shutdown)."""
    client = _clients.pop(id(asyncio.get_running_loop()), None)
    if client is not None:
        await client.aclose()


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    """Read a response body, refusing more than `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise ResponseTooLarge(f"upstream response exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class ResponseTooLarge(Exception):
    """An upstream response over the configured cap."""


def timeouts(connect: float, first_byte: float) -> httpx.Timeout:
    """Per-deployment timeouts: connect, and the read timeout until the first byte."""
    return httpx.Timeout(connect=connect, read=first_byte, write=30.0, pool=connect)


def post_webhook(url: str, payload: dict[str, Any], timeout: float = 10.0) -> int:
    """POST JSON to an admin-configured webhook (sync, for Celery) with the same address guard."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UpstreamAddressRefused("webhook URL must be http(s)")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    if not infos or not all(address_allowed(str(info[4][0])) for info in infos):
        raise UpstreamAddressRefused(f"webhook host {parts.hostname} is not allowed")
    response = httpx.post(url, json=payload, timeout=timeout, follow_redirects=False)
    return response.status_code
