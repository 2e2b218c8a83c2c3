"""Sign-in and sign-out: Django auth, throttled per IP and locked per username + IP."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login, logout
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from web import lockout

LOCKED = "Too many failed sign-ins. Try again later."


def _login_rate(group: str, request: HttpRequest) -> str:
    return str(settings.WEB_LOGIN_RATE)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else str(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@ratelimit(key="ip", rate=_login_rate, method="POST", block=False)  # type: ignore[untyped-decorator]
def login_view(request: HttpRequest) -> HttpResponse:
    form = AuthenticationForm(request, data=request.POST or None)
    error, status = "", 200
    if request.method == "POST":
        username = request.POST.get("username", "")
        ip = request.META.get("REMOTE_ADDR", "")
        if getattr(request, "limited", False) or lockout.is_locked(username, ip):
            # Never check the password of a locked pair: the answer would leak whether it's right.
            error, status = LOCKED, 429
        elif form.is_valid():
            lockout.clear(username, ip)
            login(request, form.get_user())
            return redirect(_next_url(request))
        else:
            lockout.record_failure(username, ip)
            error = "Unknown username or wrong password."
    context = {"form": form, "error": error, "next": _next_url(request)}
    context["oidc_enabled"] = getattr(settings, "OIDC_ENABLED", False)
    return render(request, "web/login.html", context, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("web:login")
