"""An async psycopg pool for the /v1 hot path (PostgreSQL only).

Django's ORM under `sync_to_async` costs a thread hop plus model construction per statement
and runs every request's database work on one shared thread; the data plane instead sends
raw, pipelined SQL over this pool. Management code keeps using the ORM.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings
from django.db import connection
from psycopg_pool import AsyncConnectionPool

_pools: dict[int, AsyncConnectionPool] = {}


def is_postgres() -> bool:
    return bool(connection.vendor == "postgresql")


def _conninfo() -> dict[str, Any]:
    # Read at first use, so tests get the test database's name (test_<name>).
    params = dict(connection.get_connection_params())
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    params.pop("server_side_binding", None)
    return params


async def get_pool() -> AsyncConnectionPool:
    """The pool of the running event loop, opened on first use."""
    loop_id = id(asyncio.get_running_loop())
    pool = _pools.get(loop_id)
    if pool is None:
        pool = AsyncConnectionPool(
            kwargs={**_conninfo(), "autocommit": True},
            min_size=settings.GATEWAY_HOTPATH_POOL_MIN,
            max_size=settings.GATEWAY_HOTPATH_POOL_MAX,
            open=False,
            name="sgw-hotpath",
        )
        await pool.open()
        _pools[loop_id] = pool
    return pool


async def close_pool() -> None:
    """Close the running loop's pool (ASGI shutdown)."""
    pool = _pools.pop(id(asyncio.get_running_loop()), None)
    if pool is not None:
        await pool.close()
