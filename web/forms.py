"""Forms of the web UI; every choice of a related object is limited to the user's organization."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from billing.models import Budget, RateLimit
from policies.config import PolicyConfigError
from policies.engine import compile_policy
from proxy.models import Deployment, ModelRoute, ProviderCredential
from tenants.models import Organization, Team

LOCAL_DT = {"type": "datetime-local"}


class TeamForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Team
        fields = ["name", "slug", "cost_center", "capture_prompts"]

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org = org

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"]
        taken = Team.objects.filter(org=self.org, slug=slug).exclude(pk=self.instance.pk)
        if taken.exists():
            raise ValidationError("A team with this slug exists.")
        return slug


class KeyForm(forms.Form):
    name = forms.CharField(max_length=200)
    expires_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs=LOCAL_DT), label="Expires (UTC)"
    )
    end_user = forms.CharField(max_length=200, required=False)
    allowed_models = forms.ModelMultipleChoiceField(
        queryset=ModelRoute.objects.none(), required=False, help_text="None selected: all."
    )

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["allowed_models"]
        field.queryset = ModelRoute.objects.visible_to(org).order_by("name")  # type: ignore[attr-defined]


class KeySettingsForm(KeyForm):
    """Editing a key: the name and end user stay; expiry and models change."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["name"], self.fields["end_user"]


class RotateForm(forms.Form):
    grace_seconds = forms.TypedChoiceField(
        coerce=int,
        initial=3600,
        choices=[(0, "none"), (300, "5 minutes"), (3600, "1 hour"), (86400, "1 day")],
        label="Old key keeps working for",
    )


def _int_list(value: str) -> list[int]:
    try:
        return sorted({int(part) for part in value.replace(" ", "").split(",") if part})
    except ValueError:
        raise ValidationError("Give whole percentages separated by commas.") from None


class BudgetForm(forms.ModelForm):  # type: ignore[type-arg]
    alert_at_text = forms.CharField(required=False, label="Alert at %", initial="50,80,100")
    alert_emails_text = forms.CharField(required=False, label="Alert emails")

    class Meta:
        model = Budget
        fields = ["period", "limit_usd", "limit_tokens", "hard"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["alert_at_text"] = ",".join(str(p) for p in self.instance.alert_at)
            self.initial["alert_emails_text"] = ",".join(self.instance.alert_emails)

    def clean_limit_usd(self) -> Decimal:
        value: Decimal = self.cleaned_data["limit_usd"]
        if value < 0:
            raise ValidationError("Must not be negative.")
        return value

    def clean_alert_at_text(self) -> list[int]:
        return _int_list(self.cleaned_data["alert_at_text"])

    def clean_alert_emails_text(self) -> list[str]:
        emails = [e.strip() for e in self.cleaned_data["alert_emails_text"].split(",") if e.strip()]
        for email in emails:
            validate_email(email)
        return emails

    def save(self, commit: bool = True) -> Budget:
        self.instance.alert_at = self.cleaned_data["alert_at_text"]
        self.instance.alert_emails = self.cleaned_data["alert_emails_text"]
        budget: Budget = super().save(commit=commit)
        return budget


class RateLimitForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = RateLimit
        fields = ["model", "rpm", "tpm", "max_parallel"]


class ProviderForm(forms.ModelForm):  # type: ignore[type-arg]
    """The secret is write-only: the widget never renders a stored (or submitted) value."""

    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave empty to keep the stored secret.",
    )
    clear_secret = forms.BooleanField(required=False, label="Remove the stored secret")
    base_url = forms.URLField(required=False, max_length=500, assume_scheme="https")

    class Meta:
        model = ProviderCredential
        fields = ["name", "kind", "base_url", "options"]

    def save(self, commit: bool = True) -> ProviderCredential:
        provider: ProviderCredential = super().save(commit=False)
        if self.cleaned_data.get("secret"):
            provider.set_secret(self.cleaned_data["secret"])
        elif self.cleaned_data.get("clear_secret"):
            provider.set_secret("")
        if commit:
            provider.save()
        return provider


class RouteForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ModelRoute
        fields = ["name", "description"]


class DeploymentForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Deployment
        fields = ["provider", "upstream_model", "priority", "weight"]

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["provider"]
        field.queryset = ProviderCredential.objects.visible_to(org).order_by("name")  # type: ignore[attr-defined]


def parse_document(text: str) -> dict[str, Any]:
    """A policy document from YAML or JSON text, validated by compiling it."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(f"Not valid YAML/JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ValidationError("The document must be a mapping.")
    try:
        compile_policy(document)
    except PolicyConfigError as exc:
        raise ValidationError(f"{exc.path}: {exc.message}") from None
    return document


class PolicyForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=500, required=False)
    document = forms.CharField(widget=forms.Textarea(attrs={"rows": 18, "class": "code"}))
    note = forms.CharField(max_length=300, required=False, label="Change note")

    def clean_document(self) -> dict[str, Any]:
        return parse_document(self.cleaned_data["document"])


class PlaygroundForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=100_000)
    direction = forms.ChoiceField(choices=[("input", "prompt"), ("output", "response")])


class ReplayForm(forms.Form):
    document = forms.CharField(widget=forms.Textarea(attrs={"rows": 12, "class": "code"}))

    def clean_document(self) -> dict[str, Any]:
        return parse_document(self.cleaned_data["document"])


DECISIONS = [("", "any"), ("allow", "allow"), ("flag", "flag"), ("redact", "redact"),
             ("block", "block")]  # fmt: skip


class AuditFilterForm(forms.Form):
    start = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs=LOCAL_DT))
    end = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs=LOCAL_DT))
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    key_prefix = forms.CharField(required=False, max_length=32)
    model = forms.CharField(required=False, max_length=200)
    decision = forms.ChoiceField(choices=DECISIONS, required=False)
    status = forms.IntegerField(required=False, min_value=100, max_value=599)

    def __init__(self, *args: Any, teams: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]

    def filter(self, records: Any) -> Any:
        """Apply the valid filters to an AuditRecord queryset."""
        data = self.cleaned_data if self.is_valid() else {}
        lookups = {
            "created_at__gte": data.get("start"),
            "created_at__lt": data.get("end"),
            "team_id": data["team"].pk if data.get("team") else None,
            "key_prefix__startswith": data.get("key_prefix") or None,
            "model_requested": data.get("model") or None,
            "decision": data.get("decision") or None,
            "status": data.get("status"),
        }
        return records.filter(**{k: v for k, v in lookups.items() if v is not None})


class AdjustmentForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    amount_usd = forms.DecimalField(max_digits=20, decimal_places=10, label="Amount (USD)")
    reason = forms.CharField(max_length=300)

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(org=org).order_by("name")  # type: ignore[attr-defined]
