"""The outbound address guard: metadata and link-local always refused, private only if allowed."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from proxy import http


@pytest.fixture(autouse=True)
def allowlist(settings: Any) -> Iterator[Any]:
    """Start every test with the default test allowlist (loopback only), re-read after changes."""
    settings.GATEWAY_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8", "::1/128"]
    http._allowed_private.cache_clear()
    yield settings
    http._allowed_private.cache_clear()


@pytest.mark.parametrize(
    "ip",
    [
        "169.254.169.254", "169.254.0.1", "fe80::1", "fe80::1%eth0", "0.0.0.0", "::",
        "224.0.0.1", "ff02::1", "100.100.100.200", "fd00:ec2::254", "::ffff:169.254.169.254",
        "10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1", "fc00::1", "not-an-ip", "",
    ],
)  # fmt: skip
def test_refused_addresses(ip):
    assert not http.address_allowed(ip)


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "127.0.0.1", "::1"])
def test_public_and_allowlisted_addresses_are_allowed(ip):
    assert http.address_allowed(ip)


def test_private_ranges_need_the_allowlist(allowlist):
    allowlist.GATEWAY_ALLOWED_PRIVATE_NETWORKS = []
    http._allowed_private.cache_clear()
    assert not http.address_allowed("127.0.0.1")
    allowlist.GATEWAY_ALLOWED_PRIVATE_NETWORKS = ["10.1.0.0/16"]
    http._allowed_private.cache_clear()
    assert http.address_allowed("10.1.2.3")
    assert not http.address_allowed("10.2.0.1")


def test_allowlist_cannot_open_metadata_or_link_local(allowlist):
    allowlist.GATEWAY_ALLOWED_PRIVATE_NETWORKS = ["0.0.0.0/0", "::/0", "169.254.0.0/16"]
    http._allowed_private.cache_clear()
    assert http.address_allowed("10.0.0.1")
    assert not http.address_allowed("169.254.169.254")
    assert not http.address_allowed("fe80::1")
    assert not http.address_allowed("100.100.100.200")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/v1",
        "http://[::ffff:169.254.169.254]/v1",
        "https://10.0.0.5:8443/v1",
        "http://0.0.0.0:80/",
    ],
)
def test_check_url_refuses_literal_addresses(url):
    with pytest.raises(http.UpstreamAddressRefused):
        http.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1",
        "http://127.0.0.1:8000/v1",
        "http://[::1]:11434",
        "https://8.8.8.8",
    ],
)
def test_check_url_lets_names_and_allowed_addresses_through(url):
    http.check_url(url)  # names are checked at resolution time, by GuardedResolver


class StubResolver:
    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[Any]:
        return [
            {"hostname": host, "host": a, "port": port, "family": family, "proto": 0, "flags": 0}
            for a in self.addresses
        ]

    async def close(self) -> None:
        pass


def _guarded(*addresses: str) -> http.GuardedResolver:
    resolver = http.GuardedResolver()
    resolver._inner = StubResolver(*addresses)  # type: ignore[assignment]
    return resolver


@pytest.mark.parametrize("address", ["169.254.169.254", "10.0.0.7", "fd00:ec2::254"])
async def test_resolver_refuses_names_that_resolve_to_refused_addresses(address):
    with pytest.raises(http.UpstreamAddressRefused):
        await _guarded(address).resolve("metadata.attacker.example", 80)


async def test_resolver_drops_refused_addresses_and_keeps_the_rest():
    results = await _guarded("169.254.169.254", "8.8.8.8", "127.0.0.1").resolve("mixed.example")
    assert [r["host"] for r in results] == ["8.8.8.8", "127.0.0.1"]


async def test_resolver_allows_private_ranges_once_allowlisted(allowlist):
    allowlist.GATEWAY_ALLOWED_PRIVATE_NETWORKS = ["10.0.0.0/8"]
    http._allowed_private.cache_clear()
    results = await _guarded("10.0.0.7").resolve("vllm.internal")
    assert [r["host"] for r in results] == ["10.0.0.7"]


def test_timeouts_use_the_deployment_values():
    timeout = http.timeouts(connect=2.0, first_byte=7.0)
    assert (timeout.connect, timeout.read, timeout.pool) == (2.0, 7.0, 2.0)
