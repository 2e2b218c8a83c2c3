"""Provider registry: kind -> class. Adding a provider: see CONTRIBUTING in docs/providers.md."""

from __future__ import annotations

from proxy.providers.anthropic import AnthropicProvider
from proxy.providers.azure_openai import AzureOpenAIProvider
from proxy.providers.base import ChunkStream, Provider, ProviderError
from proxy.providers.mock import MockProvider
from proxy.providers.openai import OpenAICompatibleProvider, OpenAIProvider

PROVIDERS: dict[str, type[Provider]] = {
    cls.kind: cls
    for cls in (
        OpenAIProvider,
        OpenAICompatibleProvider,
        AzureOpenAIProvider,
        AnthropicProvider,
        MockProvider,
    )
}

__all__ = ["PROVIDERS", "ChunkStream", "Provider", "ProviderError"]
