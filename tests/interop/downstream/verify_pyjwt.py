import os

import jwt  # pip install "pyjwt[crypto]"

ISSUER = os.environ.get("IDGATE_ISSUER", "http://127.0.0.1:8080")
AUDIENCE = os.environ.get("IDGATE_AUDIENCE", ISSUER)  # idgate's tokens.audience
jwks = jwt.PyJWKClient(ISSUER + "/.well-known/jwks.json", lifespan=300)


def verify(token):
    """The claims of a valid idgate access token; raises jwt.PyJWTError otherwise."""
    if jwt.get_unverified_header(token).get("typ") != "at+jwt":
        raise jwt.InvalidTokenError("not an access token")
    key = jwks.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token, key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER, leeway=15,
        options={"require": ["exp", "iat", "sub"]},
    )
    if claims.get("token_type") != "access":
        raise jwt.InvalidTokenError("not an access token")
    return claims
