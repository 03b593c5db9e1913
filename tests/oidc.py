"""Sign-in test support: Keycloak's login form driven over HTTP, its admin REST API, and a forging provider.

The forging provider is a small OpenID Connect provider on loopback whose ID tokens the test writes: signed with
the test's own keys, from another issuer, for another audience, expired. It answers discovery, JWKS and the token
endpoint over real HTTP, so the console's whole callback path runs.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from kubegems_routes.demo.keycloak import Keycloak

CLIENT_ID = "kubegems-routes"
CLIENT_SECRET = "test-client-secret"
PASSWORDS = {"alice": "alice-password", "bob": "bob-password", "root": "root-password"}


class _FormFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form" and self.action is None:
            self.action = dict(attrs).get("action")


class Browser(requests.Session):
    """A person's browser, as far as Keycloak's pages go.

    Keycloak marks its cookies Secure even over plain HTTP on loopback, where browsers treat
    http://127.0.0.1 as a secure context and send them; requests would not, so the flag is dropped.
    """

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = super().request(*args, **kwargs)
        for cookie in self.cookies:
            cookie.secure = False
        return response


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def keycloak_login(browser: Browser, authorize_url: str, username: str) -> str:
    """Sign in on Keycloak's own login page; the redirect back to the console (its callback URL).

    With a Keycloak session already open (the same `browser`), Keycloak answers at once without its form.
    """
    response = browser.get(authorize_url, allow_redirects=False, timeout=30)
    if response.status_code == 302:
        return response.headers["Location"]
    finder = _FormFinder()
    finder.feed(response.text)
    assert finder.action, response.text[:2000]
    action = finder.action.replace("&amp;", "&")
    response = browser.post(
        action,
        data={"username": username, "password": PASSWORDS[username], "credentialId": ""},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:2000]
    return response.headers["Location"]


def has_keycloak_session(browser: Browser, authorize_url: str) -> bool:
    """Whether Keycloak signs this browser in without asking (its SSO session is alive)."""
    response = browser.get(authorize_url, allow_redirects=False, timeout=30)
    return response.status_code == 302


class KeycloakAdmin:
    """The parts of Keycloak's admin REST API the tests use."""

    def __init__(self, keycloak: Keycloak) -> None:
        self.base = f"{keycloak.url}/admin/realms/{keycloak.realm}"
        self.keycloak = keycloak

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keycloak.admin_token()}"}

    def _get(self, path: str, **params: str) -> Any:
        response = requests.get(f"{self.base}{path}", params=params, headers=self._headers(), timeout=30)
        response.raise_for_status()
        return response.json()

    def user_id(self, username: str) -> str:
        return str(self._get("/users", username=username, exact="true")[0]["id"])

    def group_id(self, name: str) -> str:
        return str(next(group["id"] for group in self._get("/groups") if group["name"] == name))

    def groups_of(self, username: str) -> list[str]:
        return sorted(group["name"] for group in self._get(f"/users/{self.user_id(username)}/groups"))

    def join(self, username: str, group: str) -> None:
        url = f"{self.base}/users/{self.user_id(username)}/groups/{self.group_id(group)}"
        requests.put(url, headers=self._headers(), timeout=30).raise_for_status()

    def leave(self, username: str, group: str) -> None:
        url = f"{self.base}/users/{self.user_id(username)}/groups/{self.group_id(group)}"
        requests.delete(url, headers=self._headers(), timeout=30).raise_for_status()

    def sessions_of(self, username: str) -> list[dict[str, Any]]:
        return list(self._get(f"/users/{self.user_id(username)}/sessions"))


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    def jwk(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": kid or self.kid})


class ForgingProvider:
    """An OpenID Connect provider on loopback whose next ID token the test sets."""

    def __init__(self) -> None:
        self.keys: list[SigningKey] = [SigningKey("key-1")]
        self.id_token: str = ""
        self.token_requests: list[dict[str, str]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _json(self, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.endswith("/.well-known/openid-configuration"):
                    self._json(provider.discovery())
                elif self.path == "/jwks":
                    self._json({"keys": [key.jwk() for key in provider.keys]})
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                provider.token_requests.append(form)
                self._json({"access_token": "opaque", "token_type": "Bearer", "id_token": provider.id_token})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/realms/forged"

    def discovery(self) -> dict[str, str]:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "end_session_endpoint": f"{base}/logout",
        }

    def claims(self, nonce: str, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "forged-subject-1",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "preferred_username": "mallory",
            "email": "mallory@example.com",
            "groups": ["shop-devs"],
        }
        claims.update(overrides)
        return {key: value for key, value in claims.items() if value is not None}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
