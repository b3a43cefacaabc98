"""Interop: Authlib, as a Python web app's confidential client, signs a user in through idgate.

Usage: python3 tests/interop/authlib_check.py target/debug/idgate

Starts idgate on a free loopback port with a fresh SQLite database, registers a confidential
client and a user with its command line, then lets Authlib do what a Flask or Django app would:
discovery, the authorization code flow with PKCE (the browser's part — the sign-in form — is
played by `requests`), the code exchange with HTTP Basic, ID token validation (signature by the
JWKS, iss, aud, nonce, at_hash), userinfo, refresh, and revocation.
"""

import html.parser
import json
import os
import sys
import urllib.parse

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

import idgate
from idgate import PASSWORD

# idgate runs on loopback over http; Authlib refuses http unless told this is a test.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"


class Form(html.parser.HTMLParser):
    """The fields of the sign-in form."""

    def __init__(self):
        super().__init__()
        self.fields = {}
        self.action = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        if tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value", "")


def main(binary):
    results = []

    def check(name, condition):
        results.append(condition)
        print(("ok     " if condition else "FAILED ") + name)

    with idgate.running(binary) as server:
        issuer = server.issuer
        callback = "http://127.0.0.1:9/auth/callback"
        server.cli("users", "create", "alice", "--email", "alice@example.com", stdin=PASSWORD + "\n")
        created = json.loads(server.cli("clients", "create", "flask-app", "--redirect-uri", callback))
        metadata = requests.get(f"{issuer}/.well-known/openid-configuration").json()
        jwks = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"]).json())

        app = OAuth2Session(
            created["client_id"],
            created["client_secret"],
            scope="openid profile email",
            redirect_uri=callback,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
        )
        verifier = generate_token(48)
        nonce = generate_token(20)
        uri, state = app.create_authorization_url(
            metadata["authorization_endpoint"], nonce=nonce, code_verifier=verifier
        )

        # The browser: the sign-in page, the form, the redirect back to the app.
        browser = requests.Session()
        page = browser.get(uri, allow_redirects=False)
        check("the authorization URL shows the sign-in page", page.status_code == 200)
        form = Form()
        form.feed(page.text)
        fields = dict(form.fields, username="alice", password=PASSWORD)
        answer = browser.post(
            urllib.parse.urljoin(issuer, form.action), data=fields, allow_redirects=False
        )
        location = answer.headers.get("location", "")
        check("signing in redirects to the app", answer.status_code == 303
              and location.startswith(callback))

        token = app.fetch_token(
            metadata["token_endpoint"], authorization_response=location,
            code_verifier=verifier, state=state,
        )
        check("the code is exchanged for tokens", {"access_token", "id_token",
              "refresh_token"} <= set(token))
        claims = jwt.decode(
            token["id_token"], jwks, claims_cls=CodeIDToken,
            claims_options={"iss": {"essential": True, "value": issuer}},
            claims_params={"nonce": nonce, "client_id": created["client_id"],
                           "access_token": token["access_token"]},
        )
        claims.validate()
        check("the ID token validates (signature, iss, aud, nonce, at_hash)",
              claims["preferred_username"] == "alice")

        userinfo = app.get(metadata["userinfo_endpoint"]).json()
        check("userinfo names the user", userinfo.get("email") == "alice@example.com"
              and userinfo.get("sub") == claims["sub"])

        renewed = app.refresh_token(metadata["token_endpoint"],
                                    refresh_token=token["refresh_token"])
        check("the refresh token is exchanged, rotated",
              renewed["refresh_token"] != token["refresh_token"])

        revoked = app.revoke_token(metadata["revocation_endpoint"],
                                   token=renewed["refresh_token"],
                                   token_type_hint="refresh_token")
        check("revocation answers 200", revoked.status_code == 200)
        try:
            app.refresh_token(metadata["token_endpoint"],
                              refresh_token=renewed["refresh_token"])
            check("a revoked refresh token is refused", False)
        except Exception as error:  # Authlib raises OAuthError with the RFC 6749 code
            check("a revoked refresh token is refused",
                  getattr(error, "error", "") == "invalid_grant")

    failed = results.count(False)
    print("authlib interop: all passed" if not failed else f"authlib interop: {failed} failed")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "target/debug/idgate"))
