"""The declarative configuration file (`apply_config`): a strict schema, validated before writing."""

from __future__ import annotations

import os
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
ModelName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/@-]+$")]
ProviderKindName = Literal["openai", "azure_openai", "anthropic", "openai_compatible", "mock"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _money(value: object) -> Decimal:
    # Floats lose cents (0.1 + 0.2); the file must quote amounts so they stay exact.
    if not isinstance(value, str):
        raise ValueError('must be a quoted decimal string such as "0.15"')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("must be a non-negative amount")
    return amount


Money = Annotated[Decimal, BeforeValidator(_money)]


class PriceSpec(Strict):
    input_per_million: Money
    output_per_million: Money
    cached_input_per_million: Money | None = None
    cache_write_per_million: Money | None = None
    per_request: Money = Decimal(0)
    max_output_tokens: int | None = Field(default=None, ge=1)


class LimitsSpec(Strict):
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    max_parallel: int | None = Field(default=None, ge=1)


class ModelLimitsSpec(LimitsSpec):
    model: ModelName


class BudgetSpec(Strict):
    period: Literal["daily", "weekly", "monthly"] = "monthly"
    limit_usd: Money
    limit_tokens: int | None = Field(default=None, ge=1)
    hard: bool = True
    alert_at: list[Annotated[int, Field(ge=1, le=1000)]] = Field(default_factory=list)
    alert_emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(
        default_factory=list
    )
    alert_webhook: str | None = Field(default=None, pattern=r"^https?://")


class PolicySpec(Strict):
    """An inline policy document; it is compiled here so errors carry their path."""

    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    rules: list[dict[str, object]] = Field(min_length=1)
    canary: str | None = None

    @model_validator(mode="after")
    def _compiles(self) -> PolicySpec:
        from policies.config import PolicyConfigError
        from policies.engine import compile_policy

        try:
            compile_policy(self.document())
        except PolicyConfigError as exc:
            raise ValueError(f"{exc.path}: {exc.message}") from None
        return self

    def document(self) -> dict[str, object]:
        doc: dict[str, object] = {"name": self.name, "rules": list(self.rules)}
        if self.description:
            doc["description"] = self.description
        if self.canary:
            doc["canary"] = self.canary
        return doc


class Governed(Strict):
    """Limits, budget and policy shared by organizations and teams."""

    policy: str | PolicySpec | None = None
    limits: LimitsSpec | None = None
    model_limits: list[ModelLimitsSpec] = Field(default_factory=list)
    budget: BudgetSpec | None = None


class ProviderSpec(Strict):
    name: Slug
    kind: ProviderKindName
    base_url: str = ""
    api_key_env: str | None = None
    options: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _needs_url(self) -> ProviderSpec:
        if self.kind != "mock" and not self.base_url:
            raise ValueError(f"base_url is required for kind {self.kind}")
        return self


class DeploymentSpec(Strict):
    provider: Slug
    model: str = Field(min_length=1, max_length=200)
    priority: int | None = Field(default=None, ge=0)
    weight: int = Field(default=1, ge=1, le=1000)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    first_byte_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    stream_idle_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    total_timeout_s: float = Field(default=600.0, gt=0, le=7200)


class ModelSpec(Strict):
    name: ModelName
    description: str = ""
    deployments: list[DeploymentSpec] = Field(min_length=1)
    price: PriceSpec | None = None


class TeamSpec(Governed):
    slug: Slug
    name: str | None = None
    cost_center: str = ""
    models: list[ModelName] | None = None


class OrganizationSpec(Governed):
    slug: Slug
    name: str | None = None
    time_zone: str = "UTC"
    teams: list[TeamSpec] = Field(default_factory=list)

    @field_validator("time_zone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class ConfigFile(Strict):
    providers: list[ProviderSpec] = Field(default_factory=list)
    models: list[ModelSpec] = Field(default_factory=list)
    organizations: list[OrganizationSpec] = Field(default_factory=list)


class ConfigError(Exception):
    """A bad configuration file; `path` names the offending field like `models[0].deployments`."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def _is_branch(part: int | str) -> bool:
    # Union members appear in error locations by type name ("str", "PolicySpec", "list[...]").
    return isinstance(part, str) and (
        part in {"str", "int", "float"} or part[:1].isupper() or "[" in part
    )


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if _is_branch(part):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _most_specific(errors: list[ErrorDetails]) -> ErrorDetails:
    """Prefer errors from the union member the input looks like (a dict is not a `str`)."""
    typed = [e for e in errors if not (e["loc"] and e["loc"][-1] in {"str", "int", "float"})]
    return max(typed or errors, key=lambda e: len(e["loc"]))


def parse_config(data: object) -> ConfigFile:
    """Validate a loaded YAML document; the first error raises ConfigError with its path."""
    if data is None:
        data = {}
    try:
        config = ConfigFile.model_validate(data)
    except ValidationError as exc:
        first = _most_specific(exc.errors())
        raise ConfigError(_path(tuple(first["loc"])), first["msg"]) from None
    _check_unique(config)
    return config


def _check_unique(config: ConfigFile) -> None:
    named: tuple[tuple[str, list[str]], ...] = (
        ("providers", [p.name for p in config.providers]),
        ("models", [m.name for m in config.models]),
    )
    for section, names in named:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                raise ConfigError(f"{section}[{i}].name", f"duplicate name {name!r}")
            seen.add(name)
    slugs: set[str] = set()
    for i, org in enumerate(config.organizations):
        if org.slug in slugs:
            raise ConfigError(f"organizations[{i}].slug", f"duplicate slug {org.slug!r}")
        slugs.add(org.slug)
        team_slugs: set[str] = set()
        for j, team in enumerate(org.teams):
            if team.slug in team_slugs:
                raise ConfigError(
                    f"organizations[{i}].teams[{j}].slug", f"duplicate slug {team.slug!r}"
                )
            team_slugs.add(team.slug)


def read_secret_env(spec: ProviderSpec, index: int) -> str | None:
    """The provider secret from its environment variable; a named but unset variable is an error."""
    if spec.api_key_env is None:
        return None
    value = os.environ.get(spec.api_key_env)
    if not value:
        raise ConfigError(
            f"providers[{index}].api_key_env",
            f"environment variable {spec.api_key_env} is not set",
        )
    return value
