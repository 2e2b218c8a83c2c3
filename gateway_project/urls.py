"""URLs of the Django side: management API, admin, health. /v1 is served by proxy/asgi.py."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from audit import views as audit_views
from billing import views as billing_views
from policies import views as policy_views
from proxy import views as proxy_views
from tenants import views as tenant_views

router = DefaultRouter()
router.register("organizations", tenant_views.OrganizationViewSet, basename="organization")
router.register("teams", tenant_views.TeamViewSet, basename="team")
router.register("members", tenant_views.MemberViewSet, basename="member")
router.register("keys", tenant_views.ApiKeyViewSet, basename="apikey")
router.register("tokens", tenant_views.PersonalTokenViewSet, basename="token")
router.register("providers", proxy_views.ProviderCredentialViewSet, basename="provider")
router.register("routes", proxy_views.ModelRouteViewSet, basename="route")
router.register("prices", billing_views.PriceViewSet, basename="price")
router.register("limits", billing_views.RateLimitViewSet, basename="ratelimit")
router.register("budgets", billing_views.BudgetViewSet, basename="budget")
router.register("policies", policy_views.PolicyViewSet, basename="policy")
router.register("audit", audit_views.AuditRecordViewSet, basename="auditrecord")
router.register("usage", audit_views.UsageRecordViewSet, basename="usagerecord")

urlpatterns = [
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

if getattr(settings, "OIDC_ENABLED", False):
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))

# The web UI last: its root-level paths must not shadow the API, admin or OIDC routes.
urlpatterns.append(path("", include("web.urls")))
