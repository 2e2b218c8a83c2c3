"""Errors of the /v1 API in OpenAI's shape, and in Anthropic's shape on /v1/messages."""

from __future__ import annotations

from enum import Enum

from proxy.formats.anthropic_response import anthropic_error_body, openai_error_body
from proxy.wire import Response


class Dialect(Enum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


class GatewayError(Exception):
    """An error the client should see, with a stable code; never carries upstream bodies."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def openai_body(self) -> dict[str, object]:
        body = openai_error_body(
            self.status, self.message, type=self.type, code=self.code, param=self.param
        )
        body["error"].update(self.extra)
        return body

    def anthropic_body(self) -> dict[str, object]:
        body = anthropic_error_body(self.status, self.message, code=self.code)
        if self.param:
            body["error"]["param"] = self.param
        body["error"].update(self.extra)
        return body

    def to_response(self, dialect: Dialect = Dialect.OPENAI) -> Response:
        body = self.anthropic_body() if dialect is Dialect.ANTHROPIC else self.openai_body()
        return Response.json(self.status, body, self.headers)


def invalid_request(
    message: str, param: str | None = None, code: str | None = None
) -> GatewayError:
    return GatewayError(400, message, param=param, code=code or "invalid_request")


def model_not_found(model: str) -> GatewayError:
    # Same answer for unknown and not-allowed models, so callers cannot probe the route table.
    return GatewayError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        code="model_not_found",
        param="model",
    )
