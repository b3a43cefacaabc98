"""Interop: a real third-party client (PyJWT) verifies idgate's tokens with nothing but the JWKS.

Usage: python3 tests/interop/pyjwt_check.py target/debug/idgate
Starts idgate on a free loopback port with a fresh SQLite database, creates a user with the
command line, signs in over HTTP, and checks the tokens the way a Python service would.
"""

import sys

import jwt  # PyJWT

import idgate
from idgate import PASSWORD, post


def main(binary):
    results = []

    def check(name, condition):
        results.append(condition)
        print(("ok     " if condition else "FAILED ") + name)

    with idgate.running(binary) as server:
        issuer = server.issuer
        server.cli("users", "create", "alice", stdin=PASSWORD + "\n")
        status, pair = post(issuer + "/api/token/", {"username": "alice", "password": PASSWORD})
        check("sign-in answers 200", status == 200)
        access, refresh = pair["access"], pair["refresh"]

        jwks = jwt.PyJWKClient(issuer + "/.well-known/jwks.json")
        key = jwks.get_signing_key_from_jwt(access)
        claims = jwt.decode(access, key.key, algorithms=["RS256"], audience=issuer, issuer=issuer)
        check("PyJWT verifies the access token with the JWKS", claims["token_type"] == "access")
        check("the header names the key and typ", jwt.get_unverified_header(access)["typ"] == "at+jwt")
        for claim in ["sub", "exp", "iat", "jti", "user_id", "scope", "client_id", "sid", "roles"]:
            check(f"claim {claim} is present", claim in claims)

        try:
            jwks.get_signing_key_from_jwt(refresh)
            check("PyJWKClient finds no RSA key for a refresh token's kid", False)
        except jwt.PyJWKClientError:
            check("PyJWKClient finds no RSA key for a refresh token's kid", True)

        try:
            jwt.decode(refresh, key.key, algorithms=["RS256"], audience=issuer)
            check("a refresh token is not an RS256 access token", False)
        except jwt.PyJWTError:
            check("a refresh token is not an RS256 access token", True)

        try:
            jwt.decode(access, key.key, algorithms=["RS256"], audience="https://someone-else")
            check("a wrong audience is refused", False)
        except jwt.InvalidAudienceError:
            check("a wrong audience is refused", True)

        status, rotated = post(issuer + "/api/token/refresh/", {"refresh": refresh})
        check("refresh answers 200 with a new pair", status == 200 and rotated["refresh"] != refresh)
        new_access = rotated["access"]
        claims = jwt.decode(new_access, jwks.get_signing_key_from_jwt(new_access).key,
                            algorithms=["RS256"], audience=issuer, issuer=issuer)
        check("the refreshed access token verifies too", claims["sid"] == jwt.decode(
            access, key.key, algorithms=["RS256"], audience=issuer)["sid"])
        status, _ = post(issuer + "/api/token/blacklist/", {"refresh": rotated["refresh"]})
        check("blacklist answers 200", status == 200)
        status, _ = post(issuer + "/api/token/verify/", {"token": new_access})
        check("verify refuses the access token of a blacklisted session", status == 401)

    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
