"""Interop: services in Python, Node and Django REST framework verify idgate's access tokens
with nothing but its JWKS, using the very snippets of the README ("Verify idgate tokens in your
service"), and refuse tampered tokens, refresh tokens and ID-token look-alikes.

Usage: python3 tests/interop/downstream_check.py target/debug/idgate
"""

import base64
import json
import os
import subprocess
import sys

import idgate

HERE = os.path.dirname(os.path.abspath(__file__))
SNIPPETS = os.path.join(HERE, "downstream")
README = os.path.join(HERE, "..", "..", "README.md")


def tamper(token):
    """The token with one claim changed under its signature (roles: admin)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def main(binary):
    results = []

    def check(name, condition, detail=""):
        results.append(bool(condition))
        print(("ok     " if condition else "FAILED ") + name + ("" if condition else f": {detail}"))

    with open(README, encoding="utf-8") as readme:
        readme_text = readme.read()
    rust_example = os.path.join(HERE, "..", "..", "verifier", "examples", "hello.rs")
    for snippet in ["verify_pyjwt.py", "verify_jose.mjs", "django_settings.py", rust_example]:
        with open(os.path.join(SNIPPETS, snippet), encoding="utf-8") as file:
            name = os.path.basename(snippet)
            check(f"the README shows {name} as tested here", file.read().strip() in readme_text)

    with idgate.running(binary) as server:
        issuer = server.issuer
        server.cli("users", "create", "alice", stdin=idgate.PASSWORD + "\n")
        status, pair = idgate.post(
            issuer + "/api/token/", {"username": "alice", "password": idgate.PASSWORD}
        )
        check("sign-in answers 200", status == 200, pair)
        access, refresh = pair["access"], pair["refresh"]
        bad = {"tampered": tamper(access), "refresh": refresh}
        os.environ["IDGATE_ISSUER"] = issuer

        # Python: PyJWT's PyJWKClient.
        sys.path.insert(0, SNIPPETS)
        import jwt
        import verify_pyjwt

        claims = verify_pyjwt.verify(access)
        check("PyJWT (PyJWKClient) verifies the access token", claims["user_id"] == claims["sub"])
        for name, token in bad.items():
            try:
                verify_pyjwt.verify(token)
                check(f"PyJWT refuses the {name} token", False, "accepted")
            except jwt.PyJWTError as error:
                check(f"PyJWT refuses the {name} token ({type(error).__name__})", True)

        # Node: jose's createRemoteJWKSet.
        answer = subprocess.run(
            ["node", os.path.join(SNIPPETS, "verify_jose_cli.mjs"), access, *bad.values()],
            env=dict(os.environ, NODE_PATH=os.path.join(HERE, "node_modules")),
            capture_output=True, text=True, timeout=60,
        )
        lines = [json.loads(line) for line in answer.stdout.splitlines()]
        check("node ran the jose snippet", answer.returncode == 0 and len(lines) == 3, answer.stderr)
        if len(lines) == 3:
            check("jose verifies the access token", lines[0]["ok"] and lines[0]["claims"]["sub"] == claims["sub"], lines[0])
            for name, line in zip(bad, lines[1:]):
                check(f"jose refuses the {name} token ({line.get('error', '')})", not line["ok"], line)

        # Django REST framework: simplejwt's JWTStatelessUserAuthentication, configured
        # by the README's settings, in front of a view of a Django app.
        answer = subprocess.run(
            [sys.executable, os.path.join(HERE, "django_app.py"), access, *bad.values()],
            env=os.environ.copy(), capture_output=True, text=True, timeout=120,
        )
        lines = [json.loads(line) for line in answer.stdout.splitlines()]
        check("the Django app ran", answer.returncode == 0 and len(lines) == 3, answer.stderr[-2000:])
        if len(lines) == 3:
            check("Django REST framework accepts the access token (200, user id from user_id)",
                  lines[0]["status"] == 200 and lines[0]["body"]["user_id"] == claims["user_id"], lines[0])
            for name, line in zip(bad, lines[1:]):
                check(f"Django REST framework refuses the {name} token (401)", line["status"] == 401, line)

    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
