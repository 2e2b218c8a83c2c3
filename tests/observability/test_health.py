"""/healthz, /readyz and /metrics access, served by the thin ASGI layer of a real gateway."""

from __future__ import annotations

import httpx
import pytest

from tests.observability.helpers import scrape
from tests.server import free_port, start_gateway

pytestmark = [pytest.mark.django_db(transaction=True)]
TOKEN = "metrics-token-for-tests-only"


@pytest.fixture
def healthy(tmp_path):
    server = start_gateway(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def redis_down(tmp_path):
    """Redis configured on a port nothing listens on; /metrics behind a token."""
    env = {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "GATEWAY_METRICS_TOKEN": TOKEN}
    server = start_gateway(tmp_path, env=env)
    yield server
    server.stop()


def test_readyz_is_200_when_the_database_and_configured_redis_answer(healthy, settings):
    response = httpx.get(f"{healthy.url}/readyz")
    assert response.status_code == 200, response.text
    expected = {"database": "ok", "redis": "ok"} if settings.REDIS_URL else {"database": "ok"}
    assert response.json() == {"status": "ok", "checks": expected}
    assert httpx.get(f"{healthy.url}/healthz").json() == {"status": "ok"}


def test_readyz_is_503_naming_redis_when_redis_is_unreachable(redis_down):
    response = httpx.get(f"{redis_down.url}/readyz", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error: ")
    assert "127.0.0.1" not in response.text  # error types only, never URLs
    # Liveness does no I/O: the process is fine even though a dependency is not.
    assert httpx.get(f"{redis_down.url}/healthz").status_code == 200


def test_metrics_require_the_token_when_one_is_set(redis_down):
    assert httpx.get(f"{redis_down.url}/metrics").status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert httpx.get(f"{redis_down.url}/metrics", headers=wrong).status_code == 401
    assert any(name == "gateway_worker_processes" for name, _, _ in scrape(redis_down.url, TOKEN))


def test_metrics_are_open_without_a_token_and_in_prometheus_text_format(healthy):
    response = httpx.get(f"{healthy.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE gateway_worker_processes gauge" in response.text
