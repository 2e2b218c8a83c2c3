"""Django admin for provider credentials and routes; secrets are write-only here too."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from proxy.models import Deployment, ModelRoute, ProviderCredential
from tenants.admin import OrgScopedAdmin


class ProviderCredentialForm(forms.ModelForm):  # type: ignore[type-arg]
    base_url = forms.URLField(required=False, assume_scheme="https")
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Leave empty to keep the current secret.",
    )

    class Meta:
        model = ProviderCredential
        fields = ["org", "name", "kind", "base_url", "options"]


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(OrgScopedAdmin):
    form = ProviderCredentialForm
    list_display = ["name", "kind", "base_url", "org", "has_secret"]
    list_filter = ["kind"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        secret = form.cleaned_data.get("secret")
        if secret:
            obj.set_secret(secret)
        super().save_model(request, obj, form, change)


class DeploymentInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Deployment
    extra = 0


@admin.register(ModelRoute)
class ModelRouteAdmin(OrgScopedAdmin):
    list_display = ["name", "org", "description"]
    inlines = [DeploymentInline]
