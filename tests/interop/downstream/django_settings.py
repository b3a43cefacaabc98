import os

IDGATE_ISSUER = os.environ.get("IDGATE_ISSUER", "http://127.0.0.1:8080")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Trusts the token's claims; looks up no user in this app's database.
        "rest_framework_simplejwt.authentication.JWTStatelessUserAuthentication",
    ],
}
SIMPLE_JWT = {
    "ALGORITHM": "RS256",
    "JWK_URL": IDGATE_ISSUER + "/.well-known/jwks.json",
    "ISSUER": IDGATE_ISSUER,
    "AUDIENCE": os.environ.get("IDGATE_AUDIENCE", IDGATE_ISSUER),  # idgate's tokens.audience
    "LEEWAY": 15,
    "USER_ID_CLAIM": "user_id",
    "AUTH_TOKEN_CLASSES": ("rest_framework_simplejwt.tokens.AccessToken",),
}
