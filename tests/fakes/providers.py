"""FakeProvider: a real HTTP server speaking the OpenAI, Azure OpenAI and Anthropic protocols."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from . import anthropic_fake, openai_fake
from .core import (
    DEFAULT_CHUNKS,
    STATE_KEY,
    Ctx,
    Disconnect,
    FakeState,
    Fault,
    RecordedRequest,
    endpoint,
    json_response,
)

__all__ = ["Disconnect", "FakeProvider", "Fault", "RecordedRequest", "build_app", "fake_provider"]

T = TypeVar("T")


async def _not_found(ctx: Ctx) -> web.StreamResponse:
    request = ctx.request
    if request.path.startswith("/openai/"):
        return json_response(openai_fake.azure_error(404), 404)
    if "x-api-key" in request.headers or "anthropic-version" in request.headers:
        return json_response(anthropic_fake.anthropic_error(404, "Not Found"), 404)
    message = f"Invalid URL ({request.method} {request.path})"
    return json_response(openai_fake.openai_error(404, message), 404)


def build_app(state: FakeState) -> web.Application:
    """The aiohttp application serving every fake route from `state`."""
    app = web.Application(client_max_size=64 * 1024**2)
    app[STATE_KEY] = state
    openai_fake.add_routes(app)
    openai_models = openai_fake.models_handler()
    anthropic_models = anthropic_fake.models_handler()

    async def models(request: web.Request) -> web.StreamResponse:
        # Both providers serve GET /v1/models; the auth headers tell which one is asked.
        if "x-api-key" in request.headers or "anthropic-version" in request.headers:
            return await anthropic_models(request)
        return await openai_models(request)

    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/messages", anthropic_fake.messages_handler())
    app.router.add_route(
        "*", "/{tail:.*}", endpoint("unknown", _not_found, openai_fake.openai_error)
    )
    return app


class FakeProvider:
    """A fake OpenAI/Azure/Anthropic server on 127.0.0.1, run by its own thread and event loop."""

    def __init__(
        self,
        api_key: str = "sk-fake-openai-key",
        anthropic_key: str = "sk-ant-fake-key",
        azure_key: str = "azure-fake-key",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        chunks: int = DEFAULT_CHUNKS,
        chunk_delay: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.state = FakeState(
            api_key=api_key,
            anthropic_key=anthropic_key,
            azure_key=azure_key,
            chunks=chunks,
            chunk_delay=chunk_delay,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._server: asyncio.base_events.Server | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeProvider:
        """Start serving (again on the same port after stop()); returns once it accepts."""
        if self._thread is not None:
            raise RuntimeError("FakeProvider already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name="fake-provider", daemon=True
        )
        self._thread.start()
        ready.wait(timeout=10)
        if failure:
            self._thread.join(timeout=5)
            self._thread = None
            raise RuntimeError("FakeProvider failed to start") from failure[0]
        if not ready.is_set():
            raise RuntimeError("FakeProvider did not start within 10 s")
        return self

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start()
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        self.state.stopping = False
        runner = web.AppRunner(
            build_app(self.state),
            handle_signals=False,
            access_log=None,
            # Cancel a handler as soon as its client disconnects, so disconnects are seen
            # even while the handler sleeps between chunks.
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        protocol_factory = runner.server
        assert protocol_factory is not None

        def counting_factory() -> asyncio.BaseProtocol:
            # The loop calls the protocol factory exactly once per accepted TCP connection.
            self.state.add_connection()
            return protocol_factory()

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            counting_factory, self.host, self.port, reuse_address=True
        )
        self._runner = runner
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        self.state.stopping = True
        if self._server is not None:
            self._server.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._server = self._runner = None

    def stop(self) -> None:
        """Close every connection and stop the server thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=15)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=15)
        self._loop = self._thread = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ addresses

    @property
    def url(self) -> str:
        """Base URL of the server, e.g. http://127.0.0.1:54321."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base(self) -> str:
        """base_url for openai.OpenAI."""
        return f"{self.url}/v1"

    @property
    def anthropic_base(self) -> str:
        """base_url for anthropic.Anthropic (the SDK appends /v1/messages)."""
        return self.url

    @property
    def azure_base(self) -> str:
        """azure_endpoint for openai.AzureOpenAI (the SDK appends /openai/...)."""
        return self.url

    # ------------------------------------------------------------------ behaviour

    @property
    def chunks(self) -> int:
        """How many content chunks a streamed reply is split into."""
        return self.state.chunks

    @chunks.setter
    def chunks(self, value: int) -> None:
        self.state.chunks = value

    @property
    def chunk_delay(self) -> float:
        """Seconds between SSE events of every stream (a fault's delay_chunks overrides it)."""
        return self.state.chunk_delay

    @chunk_delay.setter
    def chunk_delay(self, value: float) -> None:
        self.state.chunk_delay = value

    def enqueue(self, *faults: Fault) -> None:
        """Queue faults; each is consumed by the next request its route filter matches."""
        self.state.enqueue(*faults)

    def set_default_fault(self, fault: Fault | None) -> None:
        """Apply `fault` to every request not served by a queued fault (None turns it off)."""
        self.state.set_default_fault(fault)

    def reset(self) -> None:
        """Clear queued and default faults, recorded requests, disconnects and the connection count."""
        self.state.reset()

    # ------------------------------------------------------------------ records

    @property
    def pending_faults(self) -> list[Fault]:
        """Queued faults not consumed yet."""
        return self.state.pending_faults

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, oldest first."""
        return self.state.requests

    def requests_to(self, route: str) -> list[RecordedRequest]:
        """Recorded requests whose route ("openai.chat") or family ("anthropic") is `route`."""
        return [r for r in self.requests if route in (r.route, r.route.split(".", 1)[0])]

    @property
    def disconnects(self) -> list[Disconnect]:
        """(path, time.monotonic()) of each client that left mid-response."""
        return self.state.disconnects

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since start or the last reset()."""
        return self.state.connections_accepted

    def wait_for(
        self, predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.01
    ) -> T:
        """Poll `predicate` until it returns a truthy value (returned); TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            with self.state.changed:
                # Woken early by any new record; the interval bounds waits on other conditions.
                self.state.changed.wait(min(interval, remaining))

    async def wait_for_async(
        self,
        predicate: Callable[[], T | Awaitable[T]],
        timeout: float = 5.0,
        interval: float = 0.01,
    ) -> T:
        """Like wait_for, without blocking the caller's event loop."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
                value = await value
            if value:
                return value  # type: ignore[return-value]
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(interval)


def fake_provider(**kwargs: Any) -> Iterator[FakeProvider]:
    """Run a FakeProvider for the duration of a fixture (`yield from fake_provider()`)."""
    with FakeProvider(**kwargs) as fake:
        yield fake


def main(argv: list[str] | None = None) -> None:
    """Serve the fakes until Ctrl-C: python -m tests.fakes.providers --port 9100."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--api-key", default="sk-fake-openai-key")
    parser.add_argument("--anthropic-key", default="sk-ant-fake-key")
    parser.add_argument("--azure-key", default="azure-fake-key")
    parser.add_argument("--chunks", type=int, default=DEFAULT_CHUNKS)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    fake = FakeProvider(
        args.api_key,
        args.anthropic_key,
        args.azure_key,
        host=args.host,
        port=args.port,
        chunks=args.chunks,
        chunk_delay=args.chunk_delay,
    )
    with fake:
        print(f"OpenAI:    {fake.openai_base}  (Authorization: Bearer {args.api_key})")
        print(f"Azure:     {fake.azure_base}  (api-key: {args.azure_key})")
        print(f"Anthropic: {fake.anthropic_base}  (x-api-key: {args.anthropic_key})")
        print("Ctrl-C to stop.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
