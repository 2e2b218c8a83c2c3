"""Validation of /v1 request bodies against the providers' wire formats.

The models validate; the pipeline forwards the client's own dict, so unknown-but-valid fields
(`response_format`, `tools`, `seed`, `user`, new provider features) keep flowing through.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proxy.errors import GatewayError, invalid_request

# Fields that would let a client pick the upstream or its credentials (LiteLLM-style request
# overrides). Rejected anywhere in the body except inside JSON schemas a client legitimately
# writes (tool parameters, response formats), where they are just property names.
SMUGGLING_FIELDS = frozenset(
    {
        "api_base", "base_url", "api_key", "api_version", "azure_endpoint", "azure_ad_token",
        "custom_llm_provider", "extra_headers", "extra_query", "organization", "project",
        "aws_access_key_id", "aws_secret_access_key", "aws_region_name", "vertex_credentials",
        "vertex_project", "api_type", "proxy", "headers",
    }
)  # fmt: skip
_SCHEMA_CONTAINERS = {"parameters", "input_schema", "json_schema", "schema"}


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ContentPart(_Open):
    type: str = Field(min_length=1)


class ChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


PositiveInt = Annotated[int, Field(ge=1)]


class ChatCompletionRequest(_Open):
    model: str = Field(min_length=1, max_length=256)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    max_tokens: PositiveInt | None = None
    max_completion_tokens: PositiveInt | None = None
    n: Annotated[int, Field(ge=1, le=128)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    stop: str | list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    user: str | None = None


class EmbeddingRequest(_Open):
    model: str = Field(min_length=1, max_length=256)
    input: str | list[str] | list[int] | list[list[int]]
    dimensions: PositiveInt | None = None
    encoding_format: Literal["float", "base64"] | None = None


class AnthropicBlock(_Open):
    type: str = Field(min_length=1)


class AnthropicMessage(_Open):
    role: Literal["user", "assistant"]
    content: str | list[AnthropicBlock]


class MessagesRequest(_Open):
    model: str = Field(min_length=1, max_length=256)
    messages: list[AnthropicMessage] = Field(min_length=1)
    max_tokens: PositiveInt
    system: str | list[AnthropicBlock] | None = None
    stream: bool = False
    temperature: Annotated[float, Field(ge=0, le=1)] | None = None
    stop_sequences: list[str] | None = None
    tools: list[dict[str, Any]] | None = None


def param_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as an OpenAI `param` such as `messages[0].role`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "list[ContentPart]", "list[AnthropicBlock]") or "[" in str(part):
            continue  # union branch names, not fields
        else:
            out += f".{part}" if out else str(part)
    return out


def find_smuggled(value: Any, path: str = "") -> str | None:
    """The path of the first upstream-override field in a body, or None."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if key in SMUGGLING_FIELDS:
                return here
            if key in _SCHEMA_CONTAINERS:
                continue
            found = find_smuggled(item, here)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = find_smuggled(item, f"{path}[{i}]")
            if found:
                return found
    return None


def validate(model: type[BaseModel], body: Any) -> BaseModel:
    """Validate a parsed body; errors become 400 with the offending param."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    smuggled = find_smuggled(body)
    if smuggled:
        raise GatewayError(
            400,
            f"`{smuggled}` is not accepted: the gateway chooses the upstream and its credentials.",
            param=smuggled,
            code="forbidden_parameter",
        )
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        # In unions the deepest location names the real culprit (`content[0].type`).
        first = max(exc.errors(), key=lambda e: len(e["loc"]))
        param = param_path(tuple(first["loc"]))
        raise invalid_request(f"Invalid value for `{param}`: {first['msg']}.", param) from None
