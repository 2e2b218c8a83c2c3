"""Sign-in: Django auth pages, lockout per username + IP, and who may open which page."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_anonymous_is_sent_to_the_login_page(world):
    response = Client().get("/teams/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/teams/")


def test_signs_in_and_out(world):
    client = Client()
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_next_must_stay_on_this_site(world):
    client = Client()
    data = {"username": "alice", "password": "alice-password-1", "next": "https://evil.test/"}
    assert client.post("/login/", data)["Location"] == "/"


def test_wrong_password_is_refused(world):
    response = Client().post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"wrong password" in response.content


@override_settings(WEB_LOGIN_MAX_FAILURES=3)
def test_locks_out_after_repeated_failures_even_with_the_right_password(world):
    client = Client()
    for _ in range(3):
        client.post("/login/", {"username": "alice", "password": "wrong"})
    response = client.post("/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    # Another username from the same address is not locked.
    ok = client.post("/login/", {"username": "bob", "password": "bob-password-1"})
    assert ok.status_code == 302


@override_settings(WEB_LOGIN_RATE="2/m")
def test_throttles_attempts_per_ip(world):
    client = Client()
    for _ in range(2):
        client.post("/login/", {"username": "x", "password": "y"})
    response = client.post("/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 429


def test_user_without_membership_gets_403(django_user_model):
    user = django_user_model.objects.create_user("nobody", password="nobody-password-1")
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 403


def test_superuser_keeps_the_django_admin(django_user_model):
    admin = django_user_model.objects.create_superuser("root", "r@example.com", "root-password-1")
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/").status_code == 200
