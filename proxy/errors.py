"""Errors of the /v1 API in OpenAI's shape, and in Anthropic's shape on /v1/messages."""

from __future__ import annotations

from enum import Enum

from proxy.wire import Response


class Dialect(Enum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


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
        error: dict[str, object] = {
            "message": self.message,
            "type": self.type or _OPENAI_TYPES.get(self.status, "server_error"),
            "param": self.param,
            "code": self.code,
        }
        error.update(self.extra)
        return {"error": error}

    def anthropic_body(self) -> dict[str, object]:
        error: dict[str, object] = {
            "type": _ANTHROPIC_TYPES.get(self.status, "api_error"),
            "message": self.message,
            "code": self.code,
        }
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"type": "error", "error": error}

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
