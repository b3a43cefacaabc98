//! Criterion benches of the hot paths: signing, verifying, the JWKS document, and the refresh
//! rotation in the database (SQLite always; PostgreSQL when IDGATE_BENCH_DATABASE_URL or the
//! local server at 127.0.0.1:5432 answers).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use diesel::{Connection, PgConnection, RunQueryDsl};
use idgate::clock::unix_now;
use idgate::config::Settings;
use idgate::db::Db;
use idgate::db::models::{NewRefreshFamily, NewUser, RefreshFamily, User};
use idgate::keys::{self, Jwks, KeyStore};
use idgate::sessions::{RefreshRequest, Refreshed, SessionPolicy, rotate_family};
use idgate::tokens::issue::{access_claims, issue_access_token, issue_refresh_token};
use idgate::tokens::verify::{verify_access, verify_refresh};
use idgate::tokens::{Grantee, RefreshClaims, RefreshSlot, Subject, TokenRules, new_id};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use secrecy::SecretString;

struct Fixture {
    _dir: tempfile::TempDir,
    rules: TokenRules,
    keys: KeyStore,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.keys.dir = dir.path().join("keys");
    keys::generate_key_file(&settings.keys.dir, 2048).unwrap();
    let keys = KeyStore::load(&settings.keys.dir).unwrap();
    Fixture {
        _dir: dir,
        rules: TokenRules::from_settings(&settings),
        keys,
    }
}

fn sample_user() -> Subject<'static> {
    Subject {
        user_id: "0123456789abcdef0123456789abcdef",
        roles: vec!["admin".into()],
    }
}

fn signing(c: &mut Criterion) {
    let f = fixture();
    let key = f.keys.signing_key();
    let user = sample_user();
    let mut group = c.benchmark_group("sign");
    group.bench_function("access_token_aws_lc_parsed_once", |b| {
        b.iter(|| {
            let claims = access_claims(&f.rules, &user, "sid", Grantee::FIRST_PARTY, unix_now());
            black_box(issue_access_token(key, &claims).unwrap())
        })
    });
    // What jsonwebtoken's own encode costs: it rebuilds the aws-lc key pair on every call.
    let pem = std::fs::read_to_string(&key.path).unwrap();
    // jsonwebtoken takes PKCS#1 DER here.
    let der = rsa::PrivateKey::from_pkcs8_pem(&pem)
        .unwrap()
        .to_pkcs1_der()
        .unwrap();
    let encoding = EncodingKey::from_rsa_der(der.as_bytes());
    group.bench_function("access_token_jsonwebtoken_encode", |b| {
        b.iter(|| {
            let claims = access_claims(&f.rules, &user, "sid", Grantee::FIRST_PARTY, unix_now());
            black_box(
                jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &encoding).unwrap(),
            )
        })
    });
    group.finish();
}

fn verifying(c: &mut Criterion) {
    let f = fixture();
    let key = f.keys.signing_key();
    let user = sample_user();
    let now = unix_now();
    let access = issue_access_token(
        key,
        &access_claims(&f.rules, &user, "sid", Grantee::FIRST_PARTY, now),
    )
    .unwrap();
    let slot = RefreshSlot {
        jti: new_id(),
        kid: key.kid.0.clone(),
        iat: now,
        exp: now + 3600,
    };
    let refresh = issue_refresh_token(key, &f.rules, user.user_id, "sid", &slot).unwrap();
    let mut group = c.benchmark_group("verify");
    group.bench_function("access_token_rs256", |b| {
        b.iter(|| black_box(verify_access(&f.keys, &f.rules, &access, unix_now()).unwrap()))
    });
    group.bench_function("refresh_token_hs256", |b| {
        b.iter(|| black_box(verify_refresh(&f.keys, &f.rules, &refresh, unix_now()).unwrap()))
    });
    group.finish();
}

fn jwks(c: &mut Criterion) {
    let f = fixture();
    c.bench_function("jwks/serialise", |b| {
        b.iter(|| black_box(Jwks::new(f.keys.keys())))
    });
}

/// Rotates one family over and over: the read and the conditional update of a refresh.
fn refresh_transaction(c: &mut Criterion, name: &str, url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.database.url =
        SecretString::from(url.replace("{dir}", &dir.path().display().to_string()));
    let db = Db::connect(&settings.database).unwrap();
    let mut conn = db.get().unwrap();
    let username = format!("bench{}", &new_id()[..8]);
    let user_id = new_id();
    User::insert(
        &mut conn,
        &NewUser {
            id: &user_id,
            username: &username,
            username_key: &username,
            email: None,
            password_hash: "$2b$04$unused",
            is_active: true,
            roles: "",
            created_at: unix_now(),
        },
    )
    .unwrap();
    let user = User::find(&mut conn, &user_id).unwrap().unwrap();
    let policy = SessionPolicy::from_settings(&settings);
    let now = unix_now();
    let sid = new_id();
    let first_jti = new_id();
    RefreshFamily::insert(
        &mut conn,
        &NewRefreshFamily {
            id: &sid,
            user_id: &user.id,
            current_jti: &first_jti,
            current_kid: "kid",
            current_iat: now,
            current_exp: now + 86_400,
            created_at: now,
            ends_at: now + 86_400,
            client_id: None,
            scope: "openid profile email",
            browser_session_id: None,
            auth_time: None,
        },
    )
    .unwrap();
    let mut claims = RefreshClaims {
        iss: settings.issuer.clone(),
        sub: user.id.clone(),
        aud: settings.issuer.clone(),
        exp: now + 86_400,
        iat: now,
        jti: first_jti,
        token_type: "refresh".into(),
        user_id: user.id.clone(),
        sid,
    };
    c.bench_function(&format!("refresh_transaction/{name}"), |b| {
        b.iter(|| {
            let request = RefreshRequest::default();
            match rotate_family(&mut conn, &policy, &claims, "kid", request, unix_now()) {
                Ok(Refreshed::Rotated(renewal)) => claims.jti = renewal.slot.jti,
                _ => panic!("the current token always rotates"),
            }
        })
    });
}

fn refresh_sqlite(c: &mut Criterion) {
    refresh_transaction(c, "sqlite", "sqlite://{dir}/bench.db");
}

fn refresh_postgres(c: &mut Criterion) {
    let base = std::env::var("IDGATE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let Ok(mut admin) = PgConnection::establish(&base) else {
        eprintln!("refresh_transaction/postgres skipped: {base} does not answer");
        return;
    };
    let name = format!("idgate_bench_{}", &new_id()[..12]);
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .unwrap();
    let url = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => unreachable!("a postgres URL has a path"),
    };
    refresh_transaction(c, "postgres", &url);
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .unwrap();
}

criterion_group!(
    benches,
    signing,
    verifying,
    jwks,
    refresh_sqlite,
    refresh_postgres
);
criterion_main!(benches);
