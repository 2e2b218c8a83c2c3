"""URLs of the web UI (mounted at the site root)."""

from __future__ import annotations

from django.urls import path

from web.views import audit, auth, keys, overview, policies, providers, reports

app_name = "web"

urlpatterns = [
    path("", overview.overview, name="overview"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("teams/", keys.teams, name="teams"),
    path("teams/<int:pk>/", keys.team, name="team"),
    path("teams/<int:pk>/keys/", keys.key_create, name="key-create"),
    path("keys/<int:pk>/", keys.key, name="key"),
    path("keys/<int:pk>/revoke/", keys.key_revoke, name="key-revoke"),
    path("keys/<int:pk>/rotate/", keys.key_rotate, name="key-rotate"),
    path("<kind>/<int:pk>/budget/", keys.budget_save, name="budget-save"),
    path("<kind>/<int:pk>/limit/", keys.limit_save, name="limit-save"),
    path("budgets/<int:pk>/delete/", keys.budget_delete, name="budget-delete"),
    path("limits/<int:pk>/delete/", keys.limit_delete, name="limit-delete"),
    path("providers/", providers.providers, name="providers"),
    path("providers/new/", providers.provider_edit, name="provider-new"),
    path("providers/<int:pk>/", providers.provider_edit, name="provider"),
    path("routes/new/", providers.route_edit, name="route-new"),
    path("routes/<int:pk>/", providers.route_edit, name="route"),
    path("routes/<int:pk>/deployments/", providers.deployment_add, name="deployment-add"),
    path("deployments/<int:pk>/delete/", providers.deployment_delete, name="deployment-delete"),
    path("policies/", policies.policies, name="policies"),
    path("policies/new/", policies.policy_new, name="policy-new"),
    path("policies/<int:pk>/", policies.policy, name="policy"),
    path("policies/<int:pk>/use/", policies.policy_use, name="policy-use"),
    path("policies/<int:pk>/diff/", policies.policy_diff, name="policy-diff"),
    path("policies/<int:pk>/playground/", policies.policy_playground, name="policy-playground"),
    path("policies/<int:pk>/replay/", policies.policy_replay, name="policy-replay"),
    path("audit/", audit.audit, name="audit"),
    path("audit/<int:pk>/", audit.audit_detail, name="audit-detail"),
    path("changes/", audit.changes, name="changes"),
    path("reports/", reports.index, name="reports"),
    path("reports/adjustments/", reports.adjustment, name="adjustment"),
    path("reports/<str:month>/", reports.month, name="report"),
    path("reports/<str:month>/prices/", reports.prices, name="report-prices"),
    path("reports/<str:month>/close/", reports.close, name="report-close"),
    path("reports/<str:month>.csv", reports.export_csv, name="report-csv"),
    path("reports/<str:month>.pdf", reports.export_pdf, name="report-pdf"),
]
