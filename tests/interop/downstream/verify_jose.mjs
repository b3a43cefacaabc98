import { createRemoteJWKSet, jwtVerify } from "jose"; // npm install jose

const issuer = process.env.IDGATE_ISSUER ?? "http://127.0.0.1:8080";
const audience = process.env.IDGATE_AUDIENCE ?? issuer; // idgate's tokens.audience
const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));

// The claims of a valid idgate access token; throws otherwise.
export async function verify(token) {
  const { payload } = await jwtVerify(token, jwks, {
    issuer, audience, algorithms: ["RS256"], typ: "at+jwt", clockTolerance: 15,
  });
  if (payload.token_type !== "access") throw new Error("not an access token");
  return payload;
}
