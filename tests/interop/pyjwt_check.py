"""Interop: a real third-party client (PyJWT) verifies idgate's tokens with nothing but the JWKS.

Usage: python3 tests/interop/pyjwt_check.py target/debug/idgate
Starts idgate on a free loopback port with a fresh SQLite database, creates a user with the
command line, signs in over HTTP, and checks the tokens the way a Python service would.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import jwt  # PyJWT

PASSWORD = "correct horse battery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def main(binary):
    binary = os.path.abspath(binary)
    results = []

    def check(name, condition):
        results.append(condition)
        print(("ok     " if condition else "FAILED ") + name)

    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        env = dict(
            os.environ,
            IDGATE__SERVER__PORT=str(port),
            IDGATE__ISSUER=issuer,
            IDGATE__DATABASE__URL="sqlite://idgate.db",
            IDGATE__PASSWORD__BCRYPT_COST="4",
            IDGATE__LOG__LEVEL="warn",
        )
        subprocess.run(
            [binary, "users", "create", "alice"], input=PASSWORD + "\n", text=True,
            cwd=workdir, env=env, check=True, capture_output=True,
        )
        server = subprocess.Popen([binary, "serve"], cwd=workdir, env=env)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(issuer + "/readyz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
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
        finally:
            server.terminate()
            server.wait(timeout=10)

    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
