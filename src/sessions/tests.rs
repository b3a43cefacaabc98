//! The sessions service on a real (temp SQLite) database, with a clock the tests move: no
//! HTTP and no sleeping.

use std::sync::Arc;

use secrecy::SecretString;

use super::*;
use crate::config::{HumanDuration, Settings};
use crate::testing::{block_on, install_key};

struct Fixture {
    _dir: tempfile::TempDir,
    db: Db,
    clock: Clock,
    sessions: Sessions,
    revocations: Arc<Revocations>,
    user: User,
}

fn fixture(adjust: impl FnOnce(&mut Settings)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.database.url =
        SecretString::from(format!("sqlite://{}", dir.path().join("t.db").display()));
    settings.database.pool_size = 2;
    adjust(&mut settings);
    install_key(&dir.path().join("keys"));
    let db = Db::connect(&settings.database).unwrap();
    let clock = Clock::manual(crate::clock::unix_now());
    let keys =
        Arc::new(crate::keys::KeyRing::load(dir.path().join("keys"), 0, clock.clone()).unwrap());
    let policy = SessionPolicy::from_settings(&settings);
    let revocations = Arc::new(Revocations::new(
        db.clone(),
        clock.clone(),
        policy.revocation_horizon(),
    ));
    let sessions = Sessions::new(db.clone(), keys, policy, revocations.clone(), clock.clone());
    let user = User::find(&mut db.get().unwrap(), &insert_user(&db, "alice"))
        .unwrap()
        .unwrap();
    Fixture {
        _dir: dir,
        db,
        clock,
        sessions,
        revocations,
        user,
    }
}

fn insert_user(db: &Db, username: &str) -> String {
    let id = new_id();
    User::insert(
        &mut db.get().unwrap(),
        &crate::db::models::NewUser {
            id: &id,
            username,
            username_key: username,
            email: None,
            password_hash: "$2b$04$unused",
            is_active: true,
            roles: "admin",
            created_at: 0,
        },
    )
    .unwrap();
    id
}

fn claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn refresh_of(tokens: &IssuedTokens) -> String {
    tokens.refresh.clone().expect("rotation is on")
}

#[test]
fn start_issues_a_pair_in_a_new_family_and_records_the_sign_in() {
    let f = fixture(|_| {});
    let tokens = block_on(f.sessions.start(&f.user)).unwrap();
    let access = claims(&tokens.access);
    let refresh = claims(&refresh_of(&tokens));
    assert_eq!(access["sid"], refresh["sid"]);
    assert_eq!(access["iat"], f.clock.now());
    assert_eq!(access["roles"], serde_json::json!(["admin"]));
    assert_eq!(refresh["exp"].as_i64().unwrap(), f.clock.now() + 86_400);
    let user = User::find(&mut f.db.get().unwrap(), &f.user.id)
        .unwrap()
        .unwrap();
    assert_eq!(user.last_login, Some(f.clock.now()));
}

#[test]
fn rotation_keeps_the_expiry_of_the_first_token() {
    let f = fixture(|_| {});
    let first = refresh_of(&block_on(f.sessions.start(&f.user)).unwrap());
    f.clock.advance(3600);
    let second = refresh_of(&block_on(f.sessions.refresh(&first)).unwrap());
    assert_eq!(claims(&second)["iat"].as_i64().unwrap(), f.clock.now());
    assert_eq!(claims(&second)["exp"], claims(&first)["exp"]);
}

#[test]
fn sliding_sessions_grow_up_to_their_maximum_age() {
    let f = fixture(|s| {
        s.tokens.refresh_sliding = true;
        s.tokens.refresh_ttl = "1h".parse().unwrap();
        s.tokens.session_max_age = "2h".parse().unwrap();
    });
    let started = f.clock.now();
    let mut token = refresh_of(&block_on(f.sessions.start(&f.user)).unwrap());
    f.clock.advance(1800);
    token = refresh_of(&block_on(f.sessions.refresh(&token)).unwrap());
    assert_eq!(
        claims(&token)["exp"].as_i64().unwrap(),
        f.clock.now() + 3600
    );
    f.clock.advance(3000);
    token = refresh_of(&block_on(f.sessions.refresh(&token)).unwrap());
    assert_eq!(
        claims(&token)["exp"].as_i64().unwrap(),
        started + 7200,
        "never past session_max_age"
    );
}

#[test]
fn a_repeat_within_the_grace_gets_the_current_token_and_after_it_revokes_the_family() {
    let f = fixture(|_| {});
    let first = block_on(f.sessions.start(&f.user)).unwrap();
    let old = refresh_of(&first);
    let current = refresh_of(&block_on(f.sessions.refresh(&old)).unwrap());
    f.clock.advance(10);
    let repeat = block_on(f.sessions.refresh(&old)).unwrap();
    assert_eq!(
        refresh_of(&repeat),
        current,
        "byte for byte, at the edge of the grace"
    );
    f.clock.advance(1);
    assert!(matches!(
        block_on(f.sessions.refresh(&old)),
        Err(Error::TokenInvalid)
    ));
    // The newest token died with the family, and so did its access tokens.
    assert!(block_on(f.sessions.refresh(&current)).is_err());
    assert!(
        f.revocations
            .is_revoked(claims(&first.access)["sid"].as_str().unwrap())
    );
    assert!(block_on(f.sessions.verify(&first.access)).is_err());
}

#[test]
fn expired_refresh_tokens_are_refused_with_the_leeway() {
    let f = fixture(|_| {});
    let token = refresh_of(&block_on(f.sessions.start(&f.user)).unwrap());
    f.clock.advance(86_400 + 14);
    assert!(
        block_on(f.sessions.verify(&token)).is_ok(),
        "within 15 s of leeway"
    );
    f.clock.advance(1);
    assert!(block_on(f.sessions.verify(&token)).is_err());
    assert!(block_on(f.sessions.refresh(&token)).is_err());
}

#[test]
fn blacklisting_ends_the_session_for_refresh_verify_and_bearer_use() {
    let f = fixture(|_| {});
    let tokens = block_on(f.sessions.start(&f.user)).unwrap();
    let refresh = refresh_of(&tokens);
    assert!(block_on(f.sessions.authenticate(&tokens.access)).is_ok());
    block_on(f.sessions.blacklist(&refresh)).unwrap();
    assert!(block_on(f.sessions.refresh(&refresh)).is_err());
    assert!(block_on(f.sessions.verify(&tokens.access)).is_err());
    assert!(block_on(f.sessions.authenticate(&tokens.access)).is_err());
    assert!(
        matches!(
            block_on(f.sessions.blacklist(&refresh)),
            Err(Error::TokenInvalid)
        ),
        "a blacklisted token is not valid, as in simplejwt"
    );
}

#[test]
fn an_access_token_outlives_its_ttl_only_by_the_leeway() {
    let f = fixture(|s| s.tokens.access_ttl = HumanDuration(std::time::Duration::from_secs(60)));
    let tokens = block_on(f.sessions.start(&f.user)).unwrap();
    f.clock.advance(60 + 14);
    assert!(block_on(f.sessions.verify(&tokens.access)).is_ok());
    f.clock.advance(1);
    assert!(block_on(f.sessions.verify(&tokens.access)).is_err());
    assert!(block_on(f.sessions.authenticate(&tokens.access)).is_err());
}

#[test]
fn a_disabled_users_tokens_stop_refreshing_and_authenticating() {
    let f = fixture(|_| {});
    let tokens = block_on(f.sessions.start(&f.user)).unwrap();
    User::set_active(&mut f.db.get().unwrap(), &f.user.id, false).unwrap();
    assert!(block_on(f.sessions.refresh(&refresh_of(&tokens))).is_err());
    assert!(block_on(f.sessions.authenticate(&tokens.access)).is_err());
}

#[test]
fn the_sweep_deletes_dead_families_once_their_access_tokens_are_gone() {
    let f = fixture(|_| {});
    let sweeper = Sweeper::new(f.db.clone(), f.clock.clone(), &Settings::default());
    let live = refresh_of(&block_on(f.sessions.start(&f.user)).unwrap());
    let revoked = refresh_of(&block_on(f.sessions.start(&f.user)).unwrap());
    block_on(f.sessions.blacklist(&revoked)).unwrap();
    assert_eq!(
        block_on(sweeper.sweep(10)).unwrap().sessions,
        0,
        "its access tokens may live"
    );
    f.clock.advance(300 + 15 + 1);
    assert_eq!(block_on(sweeper.sweep(10)).unwrap().sessions, 1);
    assert!(block_on(f.sessions.refresh(&live)).is_ok());
    f.clock.advance(86_400);
    assert_eq!(block_on(sweeper.sweep(10)).unwrap().sessions, 1, "expired");
}
