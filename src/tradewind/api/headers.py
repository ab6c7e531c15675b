"""Security headers on every response of the web server.

The UI loads its script and styles from /static and has no inline script (behaviour comes from
``app.js`` through ``data-`` attributes), so scripts are limited to the server's own files.
Inline ``style`` attributes stay allowed: templates size and place grid bars, gantt bars and
tree indents with them, and an attribute can be neither hashed nor given a nonce. A response
that brings its own Content-Security-Policy (the API docs page) keeps it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Directives every policy of the web server ends with: no plugins, no <base> tricks, forms
# post only here, and no page of ours inside another site's frame.
COMMON_DIRECTIVES = "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    f"img-src 'self' data:; connect-src 'self'; {COMMON_DIRECTIVES}"
)
HEADERS = (
    (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers without CSP level 2
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # URLs name DAGs and runs: not for other sites
)
CSP = b"content-security-policy"


class SecurityHeaders:
    """Adds Content-Security-Policy, X-Frame-Options, X-Content-Type-Options and
    Referrer-Policy to every HTTP response (a header the response set itself is kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in ((CSP, POLICY.encode()), *HEADERS):
                    if name not in present:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
