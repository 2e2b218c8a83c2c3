"""Management API authentication with hashed personal tokens."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tenants.keys import PERSONAL_TOKEN_PREFIX


class PersonalTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer sgwp-...`: personal admin tokens for automation."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        from tenants.models import PersonalToken

        header = authentication.get_authorization_header(request).decode(errors="replace")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.startswith(PERSONAL_TOKEN_PREFIX):
            return None
        token = PersonalToken.objects.for_token(value.strip())
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class PersonalTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Describes personal tokens in the OpenAPI schema."""

    target_class = "tenants.api_auth.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "Personal token `sgwp-...`"}
