"""The page frame (base.html), sign-in and sign-out, and the order the page language is
chosen in: ?lang, then the account's choice, then Accept-Language."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from riskatlas.parties.auth import SESSION_COOKIE
from riskatlas.web import i18n
from tests.web.pages.frame_kit import (
    add_user,
    app_for,
    fast_hashing,  # noqa: F401
    field,
    sign_in,
)

pytestmark = pytest.mark.usefixtures("fast_hashing")


def test_frame_for_anonymous_and_signed_in(db_url: str) -> None:
    add_user(db_url, "alice")
    with TestClient(app_for(db_url)) as client:
        page = client.get("/login?next=/risks&lang=en").text
        assert '<html lang="en" dir="ltr">' in page
        assert '<a class="skip" href="#main">Skip to content</a>' in page
        assert '<main id="main"' in page
        assert '<script src="/static/vendor/htmx.min.js" defer></script>' in page
        for path in ("/", "/risks", "/measures", "/countries/KAZ"):
            assert f'href="{path}?lang=en"' in page
        assert "hx-headers" not in page and "Sign out" not in page and 'href="/admin' not in page
        # The switcher keeps the path and query and replaces only lang.
        assert 'href="/login?next=%2Frisks&amp;lang=ru"' in page
        csrf = sign_in(client, "alice")
        page = client.get("/account").text
        assert f'hx-headers=\'{{"X-CSRF-Token": "{csrf}"}}\'' in page
        assert "alice" in page and "Sign out" in page and 'href="/admin' not in page
        htmx = client.get("/static/vendor/htmx.min.js")
        assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
        assert client.get("/static/vendor/htmx.LICENSE").status_code == 200


def test_login_logout_round_trip(db_url: str) -> None:
    add_user(db_url, "alice")
    with TestClient(app_for(db_url)) as client:
        assert client.get("/account", follow_redirects=False).headers["location"] \
            == "/login?next=%2Faccount"
        form = client.get("/login?lang=ru")
        assert "<h1>Вход</h1>" in form.text and 'lang="ru"' in form.text
        assert '<button type="submit" class="primary">Войти</button>' in form.text
        bad = client.post("/login?lang=ru", data={"username": "alice", "password": "wrong",
                                                  "csrf": field(form.text, "csrf")})
        assert bad.status_code == 401
        assert "Неизвестное имя пользователя или неверный пароль." in bad.text
        csrf = sign_in(client, "alice")
        assert client.get("/api/v1/auth/me").json()["username"] == "alice"
        # Sign-out needs the session's token in the form: a forged post ends nothing.
        assert client.post("/logout", data={"csrf": "forged"},
                           follow_redirects=False).status_code == 403
        assert client.get("/api/v1/auth/me").status_code == 200
        out = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/"
        assert SESSION_COOKIE not in client.cookies
        assert client.get("/api/v1/auth/me").status_code == 401


def _html_lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', page)
    assert match
    return match.group(1)


def test_language_order_query_account_browser(db_url: str) -> None:
    add_user(db_url, "alice")
    with TestClient(app_for(db_url)) as client:
        assert _html_lang(client.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
                          .text) == "ru"
        csrf = sign_in(client, "alice")
        english = {"Accept-Language": "en-GB,en;q=0.8"}
        assert _html_lang(client.get("/account", headers=english).text) == "en"
        saved = client.post("/account/language", data={"csrf": csrf, "language": "ru"},
                            follow_redirects=False)
        assert saved.status_code == 303
        page = client.get("/account", headers=english).text  # the account beats the browser
        assert _html_lang(page) == "ru" and "<h1>Учётная запись</h1>" in page
        assert _html_lang(client.get("/account?lang=en", headers=english).text) == "en"
        # Back to "as my browser asks".
        client.post("/account/language", data={"csrf": csrf, "language": ""})
        assert _html_lang(client.get("/account", headers=english).text) == "en"
        refused = client.post("/account/language", data={"csrf": csrf, "language": "xx"})
        assert refused.status_code == 422


def test_right_to_left_language_turns_the_page(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                               ) -> None:
    """A language with a catalog folder is offered and chosen without a code change; Arabic
    gives dir="rtl" (the stylesheet uses logical properties, so the frame mirrors)."""
    monkeypatch.setattr(i18n, "available", lambda: ("en", "ru", "ar"))
    with TestClient(app_for(db_url)) as client:
        page = client.get("/login?lang=ar").text
        assert '<html lang="ar" dir="rtl">' in page
        assert 'hreflang="ar" aria-current="true">العربية</a>' in page
        assert '<html lang="ru" dir="ltr">' in client.get("/login?lang=ru").text


def test_login_page_knows_who_is_already_signed_in(db_url: str) -> None:
    add_user(db_url, "alice")
    with TestClient(app_for(db_url)) as client:
        sign_in(client, "alice")
        page = client.get("/login").text
        assert "Sign out" in page and "alice" in page
