"""Helpers shared by the end-to-end proxy tests (fixtures live in conftest.py)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
from aiohttp import web

from proxy.models import Deployment, ModelRoute, ProviderCredential
from tenants.models import ApiKey, Organization, Team
from tests.fakes import FakeProvider
from tests.fakes import providers as fake_providers

OPENAI_KEY = "sk-fake-upstream-openai"
ANTHROPIC_KEY = "sk-ant-fake-upstream"
AZURE_KEY = "azure-fake-upstream"
serial = itertools.count(1)
original_build_app = fake_providers.build_app


@dataclass
class Tenant:
    """A fresh organization with one team and one key, plus helpers to add upstreams."""

    org: Organization
    team: Team
    key: str
    api_key: ApiKey
    gateway_url: str

    def provider(
        self, kind: str, base_url: str = "", secret: str = "", **options: Any
    ) -> ProviderCredential:
        credential = ProviderCredential(
            org=self.org,
            name=f"{kind.replace('_', '-')}-{next(serial)}",
            kind=kind,
            base_url=base_url,
            options=options,
        )
        credential.set_secret(secret)
        credential.save()
        return credential

    def route(
        self,
        name: str,
        provider: ProviderCredential,
        upstream_model: str = "upstream-model",
        **deployment: Any,
    ) -> ModelRoute:
        route = ModelRoute.objects.create(org=self.org, name=name)
        self.deploy(route, provider, upstream_model, **deployment)
        return route

    def deploy(
        self,
        route: ModelRoute,
        provider: ProviderCredential,
        upstream_model: str = "upstream-model",
        **deployment: Any,
    ) -> Deployment:
        return Deployment.objects.create(
            route=route, provider=provider, upstream_model=upstream_model, **deployment
        )

    def openai_route(self, fake: FakeProvider, name: str = "gpt", **deployment: Any) -> ModelRoute:
        provider = self.provider("openai", fake.openai_base, OPENAI_KEY)
        return self.route(name, provider, "gpt-4o-mini", **deployment)

    def anthropic_route(
        self, fake: FakeProvider, name: str = "claude", **deployment: Any
    ) -> ModelRoute:
        provider = self.provider("anthropic", fake.anthropic_base, ANTHROPIC_KEY)
        return self.route(name, provider, "claude-haiku-4-5", **deployment)

    def openai(self, key: str | None = None, **kwargs: Any) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"{self.gateway_url}/v1",
            api_key=key or self.key,
            **{"max_retries": 0, "timeout": 20.0, **kwargs},
        )

    def anthropic(self, key: str | None = None, **kwargs: Any) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            base_url=self.gateway_url,
            api_key=key or self.key,
            **{"max_retries": 0, "timeout": 20.0, **kwargs},
        )

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key}"}


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


class KeylessFakeProvider(FakeProvider):
    """The fake OpenAI server as a local vLLM/Ollama would be: it serves requests without a key.

    The shared fake insists on a key, so a middleware presents the fake's own key for requests
    that came without one, and counts them.
    """

    def __init__(self) -> None:
        super().__init__(api_key="local-server-no-key")
        self.keyless_requests = 0

    def reset(self) -> None:
        super().reset()
        self.keyless_requests = 0

    async def _serve(self) -> None:
        original = fake_providers.build_app
        fake_providers.build_app = self._build_app  # type: ignore[assignment]
        try:
            await super()._serve()
        finally:
            fake_providers.build_app = original  # type: ignore[assignment]

    def _build_app(self, state: Any) -> web.Application:
        app = original_build_app(state)

        @web.middleware
        async def present_key(request: web.Request, handler: Any) -> web.StreamResponse:
            if "Authorization" in request.headers:
                return web.json_response({"error": {"message": "unexpected key"}}, status=400)
            self.keyless_requests += 1
            headers = {**request.headers, "Authorization": f"Bearer {state.api_key}"}
            return await handler(request.clone(headers=headers))

        app.middlewares.append(present_key)
        return app
