"""apply_config for the cost guard: prices, limits and budgets (called inside its transaction)."""

from __future__ import annotations

from typing import Any

from billing.models import Budget, Price, RateLimit
from tenants.config_schema import BudgetSpec, Governed, LimitsSpec, PriceSpec


def apply_price(model: str, spec: PriceSpec, changes: list[str]) -> None:
    """A price that differs from the version in force becomes a new version (never an edit)."""
    rates: dict[str, Any] = {
        "input_per_million": spec.input_per_million,
        "output_per_million": spec.output_per_million,
        "cached_input_per_million": spec.cached_input_per_million,
        "cache_write_per_million": spec.cache_write_per_million,
        "per_request": spec.per_request,
    }
    if spec.max_output_tokens is not None:
        rates["max_output_tokens"] = spec.max_output_tokens
    current = Price.objects.current(model)
    if current is not None and current.same_rates(rates):
        return
    Price.objects.create(model=model, source="apply_config", **rates)
    changes.append(f"create price version for {model}")


def _limit(
    owner: dict[str, Any], model: str, spec: LimitsSpec, label: str, changes: list[str]
) -> None:
    values = {"rpm": spec.rpm, "tpm": spec.tpm, "max_parallel": spec.max_parallel}
    row = RateLimit.objects.filter(**owner, model=model).first()
    if row is None:
        RateLimit.objects.create(**owner, model=model, **values)
        changes.append(f"create limits for {label}")
    elif any(getattr(row, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(row, k, v)
        row.save()
        changes.append(f"update limits for {label}")


def _budget(owner: dict[str, Any], spec: BudgetSpec, label: str, changes: list[str]) -> None:
    values = {
        "period": spec.period,
        "limit_usd": spec.limit_usd,
        "limit_tokens": spec.limit_tokens,
        "hard": spec.hard,
        "alert_at": sorted(spec.alert_at),
        "alert_emails": list(spec.alert_emails),
        "alert_webhook": spec.alert_webhook or "",
    }
    row = Budget.objects.filter(**owner).first()
    if row is None:
        Budget.objects.create(**owner, **values)
        changes.append(f"create budget for {label}")
    elif any(getattr(row, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(row, k, v)
        row.save()
        changes.append(f"update budget for {label}")


def apply_governance(owner: dict[str, Any], spec: Governed, label: str, changes: list[str]) -> None:
    """Limits, per-model limits and the budget of an organization (owner={'org': o}) or team."""
    if spec.limits is not None:
        _limit(owner, "", spec.limits, label, changes)
    for model_spec in spec.model_limits:
        _limit(owner, model_spec.model, model_spec, f"{label} model {model_spec.model}", changes)
    if spec.budget is not None:
        _budget(owner, spec.budget, label, changes)
