//! The claims of an idgate access token (API.md §2; RFC 9068 with simplejwt's `user_id`).

use serde::{Deserialize, Deserializer, Serialize};

/// What a verified access token says. Times are unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user's id, or the client's id for a client's own token (client credentials).
    pub sub: String,
    /// The audiences, one or several (a JWT may give a string or an array).
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub jti: String,
    pub token_type: String,
    /// simplejwt's user id claim; absent from a client's own token.
    #[serde(
        default,
        deserialize_with = "string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<String>,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The sign-in session, which a sign-out revokes; absent from a client's own token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

impl Claims {
    /// True when `scope` is one of the token's scopes.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|granted| granted == scope)
    }

    /// The token's scopes, one by one.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split(' ').filter(|scope| !scope.is_empty())
    }

    /// True when the user holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|held| held == role)
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(audience) => vec![audience],
        OneOrMany::Many(audiences) => audiences,
    })
}

/// simplejwt issuers write `user_id` as the database's integer; idgate as a string.
fn string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(i64),
    }
    Ok(Option::<Id>::deserialize(deserializer)?.map(|id| match id {
        Id::Text(text) => text,
        Id::Number(number) => number.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_may_be_one_or_many_and_user_id_a_number() {
        let claims: Claims = serde_json::from_value(serde_json::json!({
            "iss": "i", "sub": "7", "aud": "api", "exp": 2, "iat": 1,
            "token_type": "access", "user_id": 7, "scope": "openid  profile",
        }))
        .unwrap();
        assert_eq!(claims.aud, ["api"]);
        assert_eq!(claims.user_id.as_deref(), Some("7"));
        assert_eq!(claims.scopes().collect::<Vec<_>>(), ["openid", "profile"]);
        assert!(claims.has_scope("profile") && !claims.has_scope("email"));

        let claims: Claims = serde_json::from_value(serde_json::json!({
            "iss": "i", "sub": "7", "aud": ["a", "b"], "exp": 2, "iat": 1,
            "token_type": "access", "roles": ["admin"],
        }))
        .unwrap();
        assert_eq!(claims.aud, ["a", "b"]);
        assert_eq!(claims.user_id, None);
        assert!(claims.has_role("admin") && !claims.has_role("staff"));
    }
}
