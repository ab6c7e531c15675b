"""Every answer of the web server carries the security headers (CSP with frame-ancestors,
X-Frame-Options, nosniff, Referrer-Policy): UI pages, the API, errors, static files, the API
docs (with a policy of their own). ``webserver.cookie_secure`` marks the cookies Secure."""

from __future__ import annotations

import re

import httpx
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, serving, web_fixture  # noqa: F401

from tradewind.api.deps import SESSION_COOKIE
from tradewind.ui.app import create_app
from tradewind.ui.auth import LOGIN_CSRF_COOKIE

pytestmark = sqlite_only


def assert_guarded(answer: httpx.Response) -> None:
    what = f"{answer.request.method} {answer.request.url.path} -> {answer.status_code}"
    headers = answer.headers
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, what
    assert "object-src 'none'" in policy, what
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") == "same-origin", what


def test_ui_api_and_error_answers_carry_the_security_headers(web: Web) -> None:
    token = web.as_("viewer")
    with serving(create_app(web.system.settings)) as base, httpx.Client(base_url=base) as client:
        answers = [
            client.get("/dags"),  # the UI sends a visitor to the login page
            client.get("/login"),
            client.get("/dags", headers=token),
            client.get("/static/app.js"),
            client.get("/health"),
            client.get("/api/v1/dags", headers=token),
            client.get("/api/v1/openapi.json"),
            client.get("/api/v1/dags"),  # 401
            client.get("/api/v1/users", headers=token),  # 403
            client.get("/api/v1/dags/nothing-here", headers=token),  # 404
            client.get("/no/such/page"),  # 404 of no route
            client.put("/api/v1/health"),  # 405
            client.post("/auth/token", json={"username": 1}),  # 400
            client.post("/auth/token", json={"username": "viewer", "password": "wrong"}),
        ]
    statuses = sorted({answer.status_code for answer in answers})
    assert statuses == [200, 303, 400, 401, 403, 404, 405]
    for answer in answers:
        assert_guarded(answer)
    page = answers[2]
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert "<script>" not in page.text  # nothing inline for the policy to block


def test_the_api_docs_start_their_inline_script_by_a_new_nonce_each_time(web: Web) -> None:
    nonces = []
    for _ in range(2):
        answer = web.client.get("/api/v1/docs")
        assert answer.status_code == 200
        assert_guarded(answer)
        policy = answer.headers["content-security-policy"]
        found = re.search(r"script-src 'nonce-([^']+)' 'self';", policy)
        assert found is not None, policy
        nonces.append(found.group(1))
        scripts = re.findall(r"<script([^>]*)>", answer.text)
        assert scripts
        assert all(f'nonce="{found.group(1)}"' in s or "src=" in s for s in scripts), scripts
        assert "/api/v1/openapi.json" in answer.text
        # Swagger UI's files come from this server, not from a CDN.
        assert "https://" not in answer.text
        for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
            assert f'"/api/v1/docs/assets/{name}"' in answer.text
            served = web.client.get(f"/api/v1/docs/assets/{name}")
            assert served.status_code == 200
            assert len(served.content) > 10_000
    assert nonces[0] != nonces[1]
    assert web.client.get("/api/v1/docs/assets/index.html").status_code == 404


def cookies_set(answer: httpx.Response, name: str) -> list[str]:
    return [c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{name}=")]


def test_cookie_secure_marks_the_cookies_secure(web: Web) -> None:
    settings = web.system.settings
    for secure in (False, True):
        webserver = settings.webserver.model_copy(update={"cookie_secure": secure})
        app = create_app(settings.model_copy(update={"webserver": webserver}))
        # Plain HTTP, as from a proxy that ends TLS in front of tradewind (a client there would
        # not send a Secure cookie back over it: this one is handed it explicitly).
        with serving(app) as base:
            form = httpx.get(f"{base}/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            answer = httpx.post(
                f"{base}/login",
                data={"username": "viewer", "password": "pw-viewer", "csrf_token": token[1]},
                headers={"Cookie": f"{LOGIN_CSRF_COOKIE}={form.cookies[LOGIN_CSRF_COOKIE]}"},
            )
        assert answer.status_code == 303, answer.text
        (login_cookie,) = cookies_set(form, LOGIN_CSRF_COOKIE)
        (session_cookie,) = cookies_set(answer, SESSION_COOKIE)
        for cookie in (login_cookie, session_cookie):
            assert ("; secure" in cookie.lower()) is secure, cookie
            assert "httponly" in cookie.lower()
