//! OAuth scopes (RFC 6749 §3.3): space-separated tokens of printable ASCII without `"` or `\`.

use std::collections::BTreeSet;

/// The scopes that speak about a user; a client acting for itself can hold none of them.
pub const USER_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// A set of scopes, kept sorted so that the same grant always reads the same.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope(BTreeSet<String>);

impl Scope {
    /// Parses a space-separated list; `Err` names the first token that is not a scope.
    pub fn parse(text: &str) -> Result<Scope, String> {
        let mut scopes = BTreeSet::new();
        for token in text.split(' ').filter(|token| !token.is_empty()) {
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !valid {
                return Err(format!("{token:?} is not a valid scope"));
            }
            scopes.insert(token.to_owned());
        }
        Ok(Scope(scopes))
    }

    /// Scopes already known to be valid (read from the database).
    pub fn from_stored(text: &str) -> Scope {
        Scope(text.split_whitespace().map(str::to_owned).collect())
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The first of these scopes that `allowed` lacks.
    pub fn first_outside<'a>(&'a self, allowed: &Scope) -> Option<&'a str> {
        self.iter().find(|scope| !allowed.contains(scope))
    }

    /// These scopes without the ones about a user.
    pub fn without_user_scopes(&self) -> Scope {
        Scope(
            self.0
                .iter()
                .filter(|scope| !USER_SCOPES.contains(&scope.as_str()))
                .cloned()
                .collect(),
        )
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for scope in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(scope)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_sorted_and_deduplicated() {
        let scope = Scope::parse("profile openid  profile api:read").unwrap();
        assert_eq!(scope.to_string(), "api:read openid profile");
        assert!(Scope::parse("").unwrap().is_empty());
        assert!(Scope::parse("a\"b").is_err());
        assert!(Scope::parse("a\\b").is_err());
        assert!(Scope::parse("caf\u{e9}").is_err());
        assert!(Scope::parse("tab\there").is_err());
    }

    #[test]
    fn subsets_and_user_scopes() {
        let allowed = Scope::parse("openid profile api").unwrap();
        assert_eq!(
            Scope::parse("api openid").unwrap().first_outside(&allowed),
            None
        );
        assert_eq!(
            Scope::parse("api admin").unwrap().first_outside(&allowed),
            Some("admin")
        );
        assert_eq!(allowed.without_user_scopes().to_string(), "api");
    }
}
