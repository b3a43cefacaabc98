//! The JWKS document (RFC 7517), serialised once per key set, with its strong ETag.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::SigningKey;

#[derive(Serialize)]
struct PublicJwk<'a> {
    kty: &'static str,
    #[serde(rename = "use")]
    usage: &'static str,
    alg: &'static str,
    kid: &'a str,
    n: &'a str,
    e: &'a str,
}

#[derive(Serialize)]
struct JwkSet<'a> {
    keys: Vec<PublicJwk<'a>>,
}

/// The serialised document and its ETag; built when keys load, served as is.
#[derive(Clone)]
pub struct Jwks {
    /// The JSON body. Only public members: never `d`, `p`, `q`, `dp`, `dq` or `qi`.
    pub body: Bytes,
    /// A strong validator: the quoted SHA-256 of the body.
    pub etag: String,
}

impl Jwks {
    /// Publishes `keys`, newest first, so that a client taking the first key takes the signer.
    pub fn new(keys: &[SigningKey]) -> Jwks {
        let set = JwkSet {
            keys: keys
                .iter()
                .rev()
                .map(|key| PublicJwk {
                    kty: "RSA",
                    usage: "sig",
                    alg: "RS256",
                    kid: &key.kid.0,
                    n: &key.n,
                    e: &key.e,
                })
                .collect(),
        };
        let body = serde_json::to_vec(&set).expect("a JWK set always serialises");
        let etag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(Sha256::digest(&body)));
        Jwks {
            body: Bytes::from(body),
            etag,
        }
    }

    /// The entity tag without its quotes (for `If-None-Match` comparison).
    pub fn tag(&self) -> &str {
        self.etag.trim_matches('"')
    }
}
