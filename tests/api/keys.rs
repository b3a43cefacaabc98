use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::helpers::{TestApp, claims, header, jwks_kids};

#[test]
fn jwks_publishes_only_public_parts_with_cache_headers() {
    let app = TestApp::spawn();
    let reply = app.get("/.well-known/jwks.json");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let etag = reply.header("etag").expect("an ETag");
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "strong ETag: {etag}"
    );
    let keys = reply.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    let key = keys[0].as_object().unwrap();
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(
            !key.contains_key(private),
            "published private member {private}"
        );
    }
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["e"], "AQAB");
    assert!(key["n"].as_str().unwrap().len() > 300, "a 2048-bit modulus");
}

#[test]
fn jwks_answers_304_to_its_etag() {
    let app = TestApp::spawn();
    let etag = app
        .get("/.well-known/jwks.json")
        .header("etag")
        .unwrap()
        .to_owned();
    let reply = app.get_with("/.well-known/jwks.json", ("if-none-match", &etag));
    assert_eq!(reply.status, 304);
    assert_eq!(reply.text, "");
    assert_eq!(reply.header("etag"), Some(etag.as_str()));
    let stale = app.get_with("/.well-known/jwks.json", ("if-none-match", "\"other\""));
    assert_eq!(stale.status, 200);
}

#[test]
fn jwks_revalidates_every_form_of_if_none_match() {
    let app = TestApp::spawn();
    let etag = app
        .get("/.well-known/jwks.json")
        .header("etag")
        .unwrap()
        .to_owned();
    // RFC 9110 §13.1.2: a list, weak comparison, and `*`.
    for value in [
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
        format!("{etag} , \"other\""),
        "*".to_owned(),
    ] {
        let reply = app.get_with("/.well-known/jwks.json", ("if-none-match", &value));
        assert_eq!(reply.status, 304, "{value}");
    }
    for value in ["\"other\", W/\"another\"", "not an entity tag", ""] {
        let reply = app.get_with("/.well-known/jwks.json", ("if-none-match", value));
        assert_eq!(reply.status, 200, "{value}");
    }
}

#[test]
fn kid_is_the_rfc_7638_thumbprint_of_the_key() {
    use base64::Engine;
    use sha2::Digest;
    let app = TestApp::spawn();
    let jwks = app.get("/.well-known/jwks.json").json();
    let key = &jwks["keys"][0];
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        key["e"].as_str().unwrap(),
        key["n"].as_str().unwrap()
    );
    let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(canonical.as_bytes()));
    assert_eq!(key["kid"], thumbprint);
}

#[test]
fn discovery_documents_name_the_issuer_and_jwks() {
    let app = TestApp::spawn();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let reply = app.get(path);
        assert_eq!(reply.status, 200, "{path}");
        let document = reply.json();
        assert_eq!(document["issuer"], app.address);
        assert_eq!(document["jwks_uri"], app.url("/.well-known/jwks.json"));
        assert_eq!(
            document["id_token_signing_alg_values_supported"],
            serde_json::json!(["RS256"])
        );
        assert_eq!(
            document["subject_types_supported"],
            serde_json::json!(["public"])
        );
        // Only endpoints this build serves are listed.
        assert_eq!(document["token_endpoint"], app.url("/oauth/token"));
        assert_eq!(document["userinfo_endpoint"], app.url("/userinfo"));
    }
}

#[test]
fn access_token_verifies_with_nothing_but_the_jwks() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (access, _) = app.sign_in("alice");
    let jwks: JwkSet = serde_json::from_str(&app.get("/.well-known/jwks.json").text).unwrap();
    let kid = header(&access)["kid"].as_str().unwrap().to_owned();
    let jwk = jwks.find(&kid).expect("the token's kid is published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&app.address]);
    validation.set_issuer(&[&app.address]);
    let verified = jsonwebtoken::decode::<Value>(&access, &key, &validation).unwrap();
    assert_eq!(verified.claims, claims(&access));

    // One flipped byte of the payload breaks it.
    let mut parts: Vec<String> = access.split('.').map(str::to_owned).collect();
    let replacement = if parts[1].starts_with('e') { "f" } else { "e" };
    parts[1].replace_range(0..1, replacement);
    assert!(jsonwebtoken::decode::<Value>(&parts.join("."), &key, &validation).is_err());
}

#[test]
fn a_refresh_tokens_kid_names_no_published_key() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let (access, refresh) = app.sign_in("alice");
    let jwks: Value = app.get("/.well-known/jwks.json").json();
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    let refresh_kid = header(&refresh)["kid"].as_str().unwrap().to_owned();
    assert!(refresh_kid.starts_with("hs-"), "{refresh_kid}");
    assert!(
        !published.contains(&refresh_kid.as_str()),
        "{refresh_kid} is in the JWKS"
    );
    assert!(published.contains(&header(&access)["kid"].as_str().unwrap()));

    // A refresh token issued before refresh tokens had ids of their own (its kid the RSA
    // key's) still refreshes; the next one carries the new id.
    let keys = app.server.keys.current();
    let key = keys.signing_key();
    let mut legacy_header = jsonwebtoken::Header::new(Algorithm::HS256);
    legacy_header.typ = Some("JWT".into());
    legacy_header.kid = Some(key.kid.0.clone());
    let legacy =
        jsonwebtoken::encode(&legacy_header, &claims(&refresh), key.refresh_signing_key()).unwrap();
    let rotated = app.refresh(&legacy);
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(header(&rotated.str("refresh"))["kid"], refresh_kid.as_str());
}

#[test]
fn a_rotated_key_is_published_at_once_signs_after_the_lead_and_no_session_ends() {
    use idgate::keys::{KeyState, KeyTiming};
    let clock = idgate::clock::Clock::manual(idgate::clock::unix_now());
    let app = TestApp::spawn_with_clock(clock.clone(), |_| {});
    app.create_user("alice");
    let (old_access, old_refresh) = app.sign_in("alice");
    let old_kid = header(&old_access)["kid"].as_str().unwrap().to_owned();

    // `idgate keys rotate`, then the replica's next reload (every keys.reload_interval).
    idgate::keys::generate_key_file(&app.settings.keys.dir, 2048).unwrap();
    let reloaded = app.server.keys.reload().unwrap();
    assert!(reloaded.changed && reloaded.keys == 2);
    let kids = jwks_kids(&app.address);
    assert_eq!(kids.len(), 2, "published at once");
    let new_kid = kids.iter().find(|kid| **kid != old_kid).unwrap().clone();
    let (during_lead, _) = app.sign_in("alice");
    assert_eq!(
        header(&during_lead)["kid"],
        old_kid.as_str(),
        "not signing yet"
    );

    // After keys.publish_lead (= keys.jwks_max_age, 5 min), the new key signs.
    clock.advance(301);
    app.server.keys.reload().unwrap();
    let (new_access, _) = app.sign_in("alice");
    assert_eq!(header(&new_access)["kid"], new_kid.as_str());
    // Tokens of the old key still verify and refresh; the rotated refresh token is the new
    // key's.
    assert_eq!(app.verify(&old_access).status, 200);
    let refreshed = app.refresh(&old_refresh);
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_eq!(header(&refreshed.str("access"))["kid"], new_kid.as_str());
    let timing = KeyTiming::from_settings(&app.settings);
    let states = app.server.keys.current().states(timing, clock.now());
    assert!(matches!(states[0], KeyState::Retired { .. }), "{states:?}");
    assert_eq!(states[1], KeyState::Signing);

    // Once every token the old key signed or keyed has expired (the refresh lifetime plus
    // the leeway), it is prunable; removing it ends no live session.
    clock.advance(24 * 3600 + 15);
    let states = app.server.keys.current().states(timing, clock.now());
    assert_eq!(states[0], KeyState::Prunable);
    app.create_user("bob");
    let (_, bob_refresh) = app.sign_in("bob");
    let old_file = app.server.keys.current().keys()[0].path.clone();
    std::fs::remove_file(old_file).unwrap();
    app.server.keys.reload().unwrap();
    assert_eq!(jwks_kids(&app.address), std::slice::from_ref(&new_kid));
    let refreshed = app.refresh(&bob_refresh);
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
}

#[test]
fn a_damaged_key_file_added_while_serving_is_skipped_and_the_replica_keeps_serving() {
    let app = TestApp::spawn();
    app.create_user("alice");
    let before = jwks_kids(&app.address);
    let damaged = app.settings.keys.dir.join("9999999999-damaged.pem");
    std::fs::write(&damaged, "-----BEGIN PRIVATE KEY-----\nnot a key\n").unwrap();
    let reloaded = app.server.keys.reload().unwrap();
    assert!(!reloaded.changed);
    assert_eq!(jwks_kids(&app.address), before);
    app.sign_in("alice");
    // With every key file gone, a reload fails and the keys in use stay.
    for path in idgate::keys::key_files(&app.settings.keys.dir).unwrap() {
        std::fs::remove_file(path).unwrap();
    }
    assert!(app.server.keys.reload().is_err());
    assert_eq!(jwks_kids(&app.address), before);
    app.sign_in("alice");
    assert_eq!(app.get("/readyz").status, 200);
}

#[test]
fn admins_list_and_rotate_keys_through_the_admin_api() {
    let app = TestApp::spawn();
    app.create_user_with("root", crate::helpers::PASSWORD, &["admin"]);
    app.create_user("alice");
    let (root, _) = app.sign_in("root");
    let (alice, _) = app.sign_in("alice");
    let bearer = |token: &str| ("authorization", format!("Bearer {token}"));

    assert_eq!(app.get("/admin/keys").status, 401);
    let (name, value) = bearer(&alice);
    let refused = app.get_with("/admin/keys", (name, &value));
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["code"], "permission_denied");
    let refused = app.post_json_with("/admin/keys/rotate", &serde_json::json!({}), (name, &value));
    assert_eq!(refused.status, 403);
    assert_eq!(jwks_kids(&app.address).len(), 1, "nothing rotated");

    let (name, value) = bearer(&root);
    let listed = app.get_with("/admin/keys", (name, &value));
    assert_eq!(listed.status, 200, "{}", listed.text);
    let keys = listed.json()["keys"].clone();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["state"], "signing");
    assert_eq!(keys[0]["kid"], jwks_kids(&app.address)[0].as_str());

    let rotated = app.post_json_with("/admin/keys/rotate", &serde_json::json!({}), (name, &value));
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    let body = rotated.json();
    let kid = body["kid"].as_str().unwrap();
    assert!(
        jwks_kids(&app.address).iter().any(|k| k == kid),
        "published at once"
    );
    assert_eq!(body["keys"][1]["kid"], kid);
    assert_eq!(body["keys"][1]["state"], "published");
    assert!(
        body["keys"][1]["signs_from"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(body["keys"][0]["state"], "signing");
}

/// Three replicas on one database and keys folder, rotating every hour on a clock the test
/// moves; their background look at the schedule runs only at start (the interval is a day).
/// Refresh tokens live 30 minutes, so a replaced key is prunable 35 minutes after it retires.
fn three_scheduled_replicas(clock: &idgate::clock::Clock) -> [TestApp; 3] {
    let hourly = |settings: &mut idgate::config::Settings| {
        settings.keys.rotate_every = idgate::config::Switch::On("1h".parse().unwrap());
        settings.keys.reload_interval = "1d".parse().unwrap();
        settings.tokens.refresh_ttl = "30m".parse().unwrap();
    };
    let a = TestApp::spawn_with_clock(clock.clone(), hourly);
    let b = a.spawn_replica(|_| {});
    let c = a.spawn_replica(|_| {});
    [a, b, c]
}

fn tick(app: &TestApp) -> idgate::keys::ScheduleTick {
    let schedule = app
        .server
        .key_schedule
        .as_ref()
        .expect("rotate_every is on");
    crate::helpers::block_on(schedule.tick()).unwrap()
}

/// Moves the clock to an hour after the newest key was made (the shared test key may be younger
/// than the clock).
fn advance_to_the_next_rotation(clock: &idgate::clock::Clock, app: &TestApp) {
    clock.advance(app.server.keys.newest_created_at() + 3600 - clock.now());
}

fn key_file_count(app: &TestApp) -> usize {
    idgate::keys::key_files(&app.settings.keys.dir)
        .unwrap()
        .len()
}

#[test]
fn a_scheduled_rotation_is_made_by_exactly_one_of_many_replicas_claiming_at_once() {
    use idgate::db::models::KeyRotation;
    use idgate::keys::ScheduleTick;
    let clock = idgate::clock::Clock::manual(idgate::clock::unix_now());
    let replicas = three_scheduled_replicas(&clock);
    for replica in &replicas {
        assert!(matches!(tick(replica), ScheduleTick::NotDue { .. }));
    }

    let first_kid = jwks_kids(&replicas[0].address).remove(0);
    for round in 1..=2 {
        advance_to_the_next_rotation(&clock, &replicas[0]);
        // Four concurrent looks from each replica, none of which has seen the others' keys.
        let outcomes: Vec<ScheduleTick> = std::thread::scope(|scope| {
            let looks: Vec<_> = replicas
                .iter()
                .flat_map(|replica| (0..4).map(move |_| scope.spawn(move || tick(replica))))
                .collect();
            looks.into_iter().map(|look| look.join().unwrap()).collect()
        });
        let rotated: Vec<(&str, &[String])> = outcomes
            .iter()
            .filter_map(|outcome| match outcome {
                ScheduleTick::Rotated { kid, pruned } => Some((kid.as_str(), &pruned[..])),
                _ => None,
            })
            .collect();
        assert_eq!(rotated.len(), 1, "round {round}: {outcomes:?}");
        // The others found it claimed (or, starting after it was done, not due).
        assert!(
            outcomes.iter().all(|outcome| matches!(
                outcome,
                ScheduleTick::Rotated { .. }
                    | ScheduleTick::ClaimedElsewhere
                    | ScheduleTick::NotDue { .. }
            )),
            "round {round}: {outcomes:?}"
        );
        let (new_kid, pruned) = rotated[0];
        // By the second rotation the first key has been retired for 55 minutes: its tokens
        // have all expired, and the rotating replica removed it.
        let expected_pruned = if round == 2 {
            vec![first_kid.clone()]
        } else {
            vec![]
        };
        assert_eq!(pruned, &expected_pruned[..], "round {round}");
        assert_eq!(key_file_count(&replicas[0]), 2);
        // Every replica publishes it at its next reload, and none rotates again for it.
        for replica in &replicas {
            replica.server.keys.reload().unwrap();
            let kids = jwks_kids(&replica.address);
            assert!(kids.iter().any(|kid| kid == new_kid), "round {round}");
            assert_eq!(kids.contains(&first_kid), round == 1, "round {round}");
            let ScheduleTick::NotDue { due_at } = tick(replica) else {
                panic!("round {round}: rotated again");
            };
            assert_eq!(due_at, clock.now() + 3600, "an hour after the new key");
        }
        assert_eq!(key_file_count(&replicas[0]), 2);
    }
    let claims = KeyRotation::all(&mut replicas[0].conn()).unwrap();
    assert_eq!(claims.len(), 2, "{claims:?}");
    for claim in &claims {
        assert!(
            claim.completed_at.is_some() && claim.new_kid.is_some(),
            "{claim:?}"
        );
    }
}

#[test]
fn a_rotation_claimed_by_a_replica_that_died_is_taken_over_after_the_lease() {
    use idgate::db::models::KeyRotation;
    use idgate::keys::ScheduleTick;
    use idgate::keys::schedule::CLAIM_LEASE;
    let clock = idgate::clock::Clock::manual(idgate::clock::unix_now());
    let [a, b, _c] = three_scheduled_replicas(&clock);
    advance_to_the_next_rotation(&clock, &a);
    // A replica claimed this rotation and died before writing its key.
    let due_key = a.server.keys.newest_created_at();
    assert!(KeyRotation::claim(&mut a.conn(), due_key, "dead", clock.now(), 0).unwrap());
    assert_eq!(tick(&a), ScheduleTick::ClaimedElsewhere, "within the lease");
    assert_eq!(tick(&b), ScheduleTick::ClaimedElsewhere);
    clock.advance(CLAIM_LEASE + 1);
    assert!(
        matches!(tick(&b), ScheduleTick::Rotated { .. }),
        "taken over"
    );
    assert_eq!(key_file_count(&a), 2);
    a.server.keys.reload().unwrap();
    assert!(matches!(tick(&a), ScheduleTick::NotDue { .. }));
    let claims = KeyRotation::all(&mut a.conn()).unwrap();
    assert_eq!(claims.len(), 1);
    assert_ne!(claims[0].claimed_by, "dead");
    assert!(claims[0].completed_at.is_some());
}
