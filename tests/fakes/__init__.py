"""Fake LLM provider servers (OpenAI, Azure OpenAI, Anthropic) for end-to-end tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core import Disconnect, Fault, RecordedRequest

if TYPE_CHECKING:
    from .providers import FakeProvider, build_app, fake_provider

__all__ = ["Disconnect", "FakeProvider", "Fault", "RecordedRequest", "build_app", "fake_provider"]


def __getattr__(name: str) -> Any:
    """Import the server module lazily so `python -m tests.fakes.providers` runs it cleanly."""
    if name in {"FakeProvider", "build_app", "fake_provider"}:
        from . import providers

        return getattr(providers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
