"""Azure OpenAI: OpenAI's format on per-deployment URLs with an `api-key` header."""

from __future__ import annotations

from typing import ClassVar

from proxy.providers.base import JSON, ProviderError
from proxy.providers.openai import OpenAIProvider

DEFAULT_API_VERSION = "2024-10-21"


class AzureOpenAIProvider(OpenAIProvider):
    kind: ClassVar[str] = "azure_openai"

    def _url(self, operation: str) -> str:
        base = self.deployment.base_url.rstrip("/")
        version = self.deployment.options.get("api_version", DEFAULT_API_VERSION)
        # On Azure the *deployment* name is the model; it lives in the URL.
        return (
            f"{base}/openai/deployments/{self.deployment.upstream_model}/{operation}"
            f"?api-version={version}"
        )

    def _headers(self, forwarded: dict[str, str]) -> dict[str, str]:
        if not self.deployment.secret:
            raise ProviderError(f"{self.name} has no API key configured", kind="refused")
        return {"api-key": self.deployment.secret}

    def _body(self, body: JSON) -> JSON:
        payload = dict(body)
        payload.pop("model", None)
        return payload
