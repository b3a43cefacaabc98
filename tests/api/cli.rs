use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::json;

use crate::helpers::{TestApp, TestDatabase, binary, jwks_kids};

/// Runs `idgate --config <dir>/idgate.toml ARGS` in `dir`, with `stdin` piped in.
fn idgate(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(binary())
        .arg("--config")
        .arg(dir.join("idgate.toml"))
        .args(args)
        .current_dir(dir)
        .env_remove("IDGATE_ENV")
        .env("IDGATE__LOG__LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn last_stderr_line(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

/// A config file in the running server's folder, pointing the command line at its database,
/// as an operator's would.
fn write_config_for(app: &TestApp) {
    std::fs::write(
        app.dir.path().join("idgate.toml"),
        format!(
            "[database]\nurl = \"{}\"\n[keys]\ndir = \"keys\"\n[password]\nbcrypt_cost = 4\n",
            secrecy::ExposeSecret::expose_secret(&app.settings.database.url)
        ),
    )
    .unwrap();
}

/// A folder with a config file pointing at a fresh database and `keys/`.
struct Workspace {
    dir: tempfile::TempDir,
    _database: TestDatabase,
}

fn workspace() -> Workspace {
    let dir = tempfile::tempdir().unwrap();
    let database = TestDatabase::new(dir.path());
    std::fs::write(
        dir.path().join("idgate.toml"),
        format!(
            "[database]\nurl = \"{}\"\n[keys]\ndir = \"keys\"\n[password]\nbcrypt_cost = 4\n",
            database.url
        ),
    )
    .unwrap();
    Workspace {
        dir,
        _database: database,
    }
}

#[test]
fn users_create_reads_the_password_from_stdin_and_the_server_accepts_it() {
    let app = TestApp::spawn();
    write_config_for(&app);
    let out = idgate(
        app.dir.path(),
        &[
            "users",
            "create",
            "carol",
            "--email",
            "carol@example.com",
            "--admin",
        ],
        "a fine password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("carol"));
    // Usable by the running server at once.
    let reply = app.post_json(
        "/api/token/",
        &json!({"username": "carol", "password": "a fine password"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    let claims = crate::helpers::claims(&reply.str("access"));
    assert_eq!(claims["roles"], json!(["admin"]));

    let out = idgate(app.dir.path(), &["users", "disable", "carol"], "");
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    assert_eq!(
        app.refresh(&reply.str("refresh")).status,
        401,
        "disabling revokes sessions"
    );
    let reply = app.post_json(
        "/api/token/",
        &json!({"username": "carol", "password": "a fine password"}),
    );
    assert_eq!(reply.status, 401);
    let out = idgate(app.dir.path(), &["users", "enable", "carol"], "");
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    let reply = app.post_json(
        "/api/token/",
        &json!({"username": "carol", "password": "a fine password"}),
    );
    assert_eq!(reply.status, 200);

    let out = idgate(
        app.dir.path(),
        &["users", "set-password", "carol"],
        "another fine one\r\n",
    );
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    assert_eq!(
        app.refresh(&reply.str("refresh")).status,
        401,
        "set-password revokes sessions"
    );
    let reply = app.post_json(
        "/api/token/",
        &json!({"username": "carol", "password": "another fine one"}),
    );
    assert_eq!(reply.status, 200);
}

#[test]
fn users_create_refuses_bad_input_in_one_line() {
    let ws = workspace();
    let out = idgate(ws.dir.path(), &["users", "create", "dave"], "");
    assert!(!out.status.success());
    assert!(
        last_stderr_line(&out).contains("standard input"),
        "{}",
        last_stderr_line(&out)
    );
    let out = idgate(
        ws.dir.path(),
        &["users", "create", "dave"],
        &format!("{}\n", "x".repeat(100)),
    );
    assert!(!out.status.success());
    assert!(last_stderr_line(&out).contains("password"));
    let out = idgate(
        ws.dir.path(),
        &["users", "create", "da ve"],
        "a fine password\n",
    );
    assert!(!out.status.success());
    assert!(last_stderr_line(&out).contains("username"));
    let out = idgate(
        ws.dir.path(),
        &["users", "create", "dave"],
        "a fine password\n",
    );
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    let out = idgate(
        ws.dir.path(),
        &["users", "create", "DAVE"],
        "a fine password\n",
    );
    assert!(!out.status.success());
    assert!(last_stderr_line(&out).contains("already exists"));
    let out = idgate(ws.dir.path(), &["users", "disable", "nobody"], "");
    assert!(!out.status.success());
    assert!(last_stderr_line(&out).contains("not found"));
}

#[test]
fn users_list_shows_every_user() {
    let ws = workspace();
    for name in ["erin", "frank"] {
        assert!(
            idgate(
                ws.dir.path(),
                &["users", "create", name],
                "a fine password\n"
            )
            .status
            .success()
        );
    }
    let out = idgate(ws.dir.path(), &["users", "list"], "");
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    let listing = stdout(&out);
    assert!(
        listing.contains("erin") && listing.contains("frank"),
        "{listing}"
    );
    assert!(!listing.contains("$2"), "no password hash is printed");
}

#[test]
fn keys_generate_creates_the_first_key_only() {
    let ws = workspace();
    let out = idgate(ws.dir.path(), &["keys", "generate"], "");
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    let files: Vec<_> = std::fs::read_dir(ws.dir.path().join("keys"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 1);
    let path = files[0].as_ref().unwrap().path();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "PKCS#8 PEM");

    let again = idgate(ws.dir.path(), &["keys", "generate"], "");
    assert!(!again.status.success());
    assert!(last_stderr_line(&again).contains("already holds a key"));

    let list = idgate(ws.dir.path(), &["keys", "list"], "");
    assert!(list.status.success());
    assert!(stdout(&list).contains("signing"));
    assert!(!stdout(&list).contains("PRIVATE"));
}

#[test]
fn check_config_prints_without_secrets_and_names_bad_keys() {
    let ws = workspace();
    let out = Command::new(binary())
        .args(["check-config"])
        .current_dir(ws.dir.path())
        .env(
            "IDGATE__DATABASE__URL",
            "postgres://idgate:hunter2@db.internal/idgate",
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    let printed = stdout(&out);
    assert!(
        printed.contains("postgres://idgate:***@db.internal/idgate"),
        "{printed}"
    );
    assert!(!printed.contains("hunter2"));

    for (variable, value, key) in [
        ("IDGATE__SERVER__PORT", "eighty", "port"),
        ("IDGATE__TOKENS__ACCESS_TTL", "soon", "access_ttl"),
        ("IDGATE__DATABASE__URL", "mysql://x", "database.url"),
        (
            "IDGATE__PASSWORD__BCRYPT_COST",
            "99",
            "password.bcrypt_cost",
        ),
    ] {
        let out = Command::new(binary())
            .args(["check-config"])
            .current_dir(ws.dir.path())
            .env(variable, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{variable}={value}");
        let line = last_stderr_line(&out);
        assert!(line.contains(key), "{variable}={value}: {line}");
    }
}

#[test]
fn migrate_and_flush_expired_run_and_exit() {
    let ws = workspace();
    let out = idgate(ws.dir.path(), &["migrate"], "");
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    let out = idgate(ws.dir.path(), &["migrate"], "");
    assert!(stdout(&out).starts_with("0 migration(s) applied"));
    let out = idgate(ws.dir.path(), &["tokens", "flush-expired"], "");
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    assert!(stdout(&out).contains("deleted 0"));
}

#[test]
fn serve_generates_a_key_on_first_start_and_stops_on_sigterm() {
    let ws = workspace();
    let (mut running, port) = serve(&ws, &[]);
    let ready = answers_within_10_s(&format!("http://127.0.0.1:{port}/readyz"));
    let keys = std::fs::read_dir(ws.dir.path().join("keys"))
        .map(|d| d.count())
        .unwrap_or(0);
    // SIGTERM, as an orchestrator would stop it.
    let child = running.0.take().unwrap();
    signal(&child, "TERM");
    let output = child.wait_with_output().unwrap();
    assert!(ready, "server never became ready");
    assert_eq!(keys, 1, "a key was generated on first start");
    let logs = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = logs.lines().filter(|l| l.starts_with('{')).collect();
    assert!(!lines.is_empty(), "JSON log lines: {logs}");
    for line in lines {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}

/// Starts `idgate serve` in the workspace on a free port, logging JSON to a pipe.
fn serve(ws: &Workspace, env: &[(&str, &str)]) -> (Running, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary())
        .args(["--config", "idgate.toml"])
        .current_dir(ws.dir.path())
        .env("IDGATE__SERVER__PORT", port.to_string())
        .env("IDGATE__ISSUER", format!("http://127.0.0.1:{port}"))
        .env("IDGATE__LOG__FORMAT", "json")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (Running(Some(child)), port)
}

fn answers_within_10_s(url: &str) -> bool {
    for _ in 0..100 {
        if ureq::get(url).call().is_ok_and(|r| r.status() == 200) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// A child process that is killed if the test fails before it stops it.
struct Running(Option<std::process::Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn signal(child: &std::process::Child, name: &str) {
    let sent = Command::new("kill")
        .args(["-s", name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -s {name}");
}

#[test]
fn a_hangup_is_logged_and_the_server_keeps_serving() {
    let ws = workspace();
    let (mut running, port) = serve(&ws, &[("IDGATE__LOG__LEVEL", "info")]);
    let url = format!("http://127.0.0.1:{port}/healthz");
    let answers = || ureq::get(&url).call().is_ok_and(|r| r.status() == 200);
    assert!(answers_within_10_s(&url), "server never answered");
    let child = running.0.as_mut().unwrap();
    for _ in 0..3 {
        signal(child, "HUP");
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(
            child.try_wait().unwrap().is_none(),
            "SIGHUP ended the process"
        );
        assert!(answers(), "not serving after SIGHUP");
    }
    signal(child, "TERM");
    let output = running.0.take().unwrap().wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "SIGTERM is a clean stop: {:?}",
        output.status
    );
    let logs = String::from_utf8_lossy(&output.stderr);
    let hangups = logs
        .lines()
        .filter(|line| line.contains("SIGHUP received"))
        .count();
    assert_eq!(hangups, 3, "{logs}");
}

#[test]
fn sigterm_lets_the_requests_in_flight_finish_then_exits_0() {
    let ws = workspace();
    let (mut running, port) = serve(
        &ws,
        &[
            ("IDGATE__REGISTRATION__OPEN", "true"),
            // Each registration hashes for a good fraction of a second: still in flight when
            // the signal comes.
            ("IDGATE__PASSWORD__BCRYPT_COST", "13"),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    assert!(answers_within_10_s(&format!("{base}/readyz")));
    let registrations: Vec<_> = (0..4)
        .map(|n| {
            let url = format!("{base}/api/users/");
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                agent
                    .post(&url)
                    .send_json(
                        json!({ "username": format!("user{n}"), "password": "a long password" }),
                    )
                    .map(|reply| reply.status().as_u16())
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let child = running.0.take().unwrap();
    signal(&child, "TERM");
    let statuses: Vec<_> = registrations
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .collect();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "exit: {:?}", output.status);
    for status in &statuses {
        assert_eq!(status.as_ref().ok(), Some(&201), "{statuses:?}");
    }
    // New connections are refused once it has stopped, and nothing in flight was lost.
    assert!(ureq::get(&format!("{base}/healthz")).call().is_err());
    let listed = stdout(&idgate(ws.dir.path(), &["users", "list"], ""));
    for n in 0..4 {
        assert!(listed.contains(&format!("user{n}")), "{listed}");
    }
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn keys_rotate_list_prune_and_a_running_server_reloads_on_sighup() {
    let ws = workspace();
    let dir = ws.dir.path();
    let out = idgate(dir, &["keys", "rotate"], "");
    assert!(!out.status.success());
    assert!(
        last_stderr_line(&out).contains("keys generate"),
        "{}",
        last_stderr_line(&out)
    );
    assert!(idgate(dir, &["keys", "generate"], "").status.success());
    assert!(
        idgate(
            dir,
            &["users", "create", "alice"],
            "correct horse battery\n"
        )
        .status
        .success()
    );
    let lead = [
        ("IDGATE__KEYS__PUBLISH_LEAD", "0s"),
        ("IDGATE__KEYS__RELOAD_INTERVAL", "1h"),
    ];
    let (mut running, port) = serve(&ws, &lead);
    let base = format!("http://127.0.0.1:{port}");
    assert!(answers_within_10_s(&format!("{base}/readyz")));
    let first = jwks_kids(&base);
    assert_eq!(first.len(), 1);

    let out = Command::new(binary())
        .args(["--config", "idgate.toml", "keys", "rotate"])
        .current_dir(dir)
        .envs(lead)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    assert!(
        stdout(&out).contains("published at once, signing"),
        "{}",
        stdout(&out)
    );
    let listed = Command::new(binary())
        .args(["--config", "idgate.toml", "keys", "list"])
        .current_dir(dir)
        .envs(lead)
        .output()
        .unwrap();
    let listed = stdout(&listed);
    assert!(listed.contains(&first[0]), "{listed}");
    // One key signs; the other is retired (with the time it becomes prunable) or, when both
    // were made within one second, published and signing from the next.
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(listed.contains("signing"), "{listed}");
    assert!(
        listed.contains("prunable from") || listed.contains("signs from"),
        "{listed}"
    );
    // The tokens the old key signed may still be alive: nothing to prune.
    let pruned = stdout(&idgate(dir, &["keys", "prune"], ""));
    assert!(pruned.contains("no key to prune"), "{pruned}");

    // The server re-reads the folder on SIGHUP (its interval is an hour here).
    assert_eq!(jwks_kids(&base), first);
    signal(running.0.as_ref().unwrap(), "HUP");
    wait_for("the new key in the JWKS", || jwks_kids(&base).len() == 2);
    let new_kid = jwks_kids(&base)
        .into_iter()
        .find(|kid| *kid != first[0])
        .unwrap();
    let signing_kid = || {
        let reply: serde_json::Value = ureq::post(&format!("{base}/api/token/"))
            .send_json(json!({ "username": "alice", "password": "correct horse battery" }))
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        crate::helpers::header(reply["access"].as_str().unwrap())["kid"].clone()
    };
    // A key made within the second of the one before is dated a second later, so it may sign
    // only from the next reload on.
    wait_for("the new key to sign", || {
        signal(running.0.as_ref().unwrap(), "HUP");
        std::thread::sleep(std::time::Duration::from_millis(100));
        signing_kid() == new_kid.as_str()
    });
    let child = running.0.take().unwrap();
    signal(&child, "TERM");
    assert!(child.wait_with_output().unwrap().status.success());
}

#[test]
fn a_running_server_rereads_the_keys_every_reload_interval() {
    let ws = workspace();
    assert!(
        idgate(ws.dir.path(), &["keys", "generate"], "")
            .status
            .success()
    );
    let (_running, port) = serve(&ws, &[("IDGATE__KEYS__RELOAD_INTERVAL", "1s")]);
    let base = format!("http://127.0.0.1:{port}");
    assert!(answers_within_10_s(&format!("{base}/readyz")));
    assert_eq!(jwks_kids(&base).len(), 1);
    assert!(
        idgate(ws.dir.path(), &["keys", "rotate"], "")
            .status
            .success()
    );
    wait_for("the new key in the JWKS", || jwks_kids(&base).len() == 2);
}

#[test]
fn three_servers_started_at_once_rotate_on_schedule_exactly_once_per_due_key() {
    let ws = workspace();
    let dir = ws.dir.path();
    // A new database and an empty keys folder: the three take turns to migrate, and only the
    // first makes a key.
    let schedule = [
        ("IDGATE__KEYS__ROTATE_EVERY", "3s"),
        ("IDGATE__KEYS__PUBLISH_LEAD", "1s"),
        ("IDGATE__KEYS__RELOAD_INTERVAL", "1s"),
    ];
    let mut servers: Vec<(Running, u16)> = (0..3).map(|_| serve(&ws, &schedule)).collect();
    for (_, port) in &servers {
        assert!(answers_within_10_s(&format!(
            "http://127.0.0.1:{port}/readyz"
        )));
    }
    let key_times = || -> Vec<i64> {
        idgate::keys::key_files(&dir.join("keys"))
            .unwrap()
            .iter()
            .map(|path| {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                name.split('-').next().unwrap().parse().unwrap()
            })
            .collect()
    };
    // Three rotations take 9 s and up to one reload interval each.
    for _ in 0..300 {
        if key_times().len() >= 4 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let times = key_times();
    assert!(times.len() >= 4, "rotations: {times:?}");
    for (_, port) in &servers {
        let base = format!("http://127.0.0.1:{port}");
        wait_for("every key in every JWKS", || {
            jwks_kids(&base).len() >= times.len()
        });
    }
    let mut added = 0;
    for (running, _) in &mut servers {
        let child = running.0.take().unwrap();
        signal(&child, "TERM");
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        added += String::from_utf8_lossy(&output.stderr)
            .matches("keys.rotate_every: added the next key")
            .count();
    }
    let times = key_times();
    // A second first key, or a second replica rotating for the same due key, would have been
    // made within a second of the other.
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= 3, "two keys within 3 s: {times:?}");
    }
    assert_eq!(added, times.len() - 1, "one log line a rotation: {times:?}");
}

#[test]
fn a_rotation_schedule_shorter_than_the_publish_lead_stops_start_up() {
    let ws = workspace();
    for command in [&["check-config"][..], &["serve"]] {
        let out = Command::new(binary())
            .args(["--config", "idgate.toml"])
            .args(command)
            .current_dir(ws.dir.path())
            .env("IDGATE__KEYS__ROTATE_EVERY", "1m")
            .env("IDGATE__SERVER__PORT", "0")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{command:?}");
        let line = last_stderr_line(&out);
        assert!(
            line.contains("keys.rotate_every") && line.contains("keys.publish_lead (5m)"),
            "{command:?}: {line}"
        );
    }
    let out = Command::new(binary())
        .args(["--config", "idgate.toml", "check-config"])
        .current_dir(ws.dir.path())
        .env("IDGATE__KEYS__RELOAD_INTERVAL", "10s")
        .env("IDGATE__KEYS__ROTATE_EVERY", "30d")
        .env("IDGATE__KEYS__PUBLISH_LEAD", "1m")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    assert!(
        stdout(&out).contains("rotate_every = \"30d\""),
        "{}",
        stdout(&out)
    );
}

#[test]
fn trusted_proxies_come_comma_separated_from_the_environment_and_are_checked() {
    let ws = workspace();
    let check = |value: &str| {
        Command::new(binary())
            .args(["--config", "idgate.toml", "check-config"])
            .current_dir(ws.dir.path())
            .env("IDGATE__SERVER__TRUSTED_PROXIES", value)
            .output()
            .unwrap()
    };
    let out = check("10.0.0.0/8,192.168.1.1");
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    assert!(
        stdout(&out).contains(r#"trusted_proxies = ["10.0.0.0/8", "192.168.1.1"]"#),
        "{}",
        stdout(&out)
    );
    let out = check("10.0.0.0/8,proxy.internal");
    assert!(!out.status.success());
    let line = last_stderr_line(&out);
    assert!(
        line.contains("server.trusted_proxies") && line.contains("proxy.internal"),
        "{line}"
    );
}

#[test]
fn clients_create_prints_the_secret_once_and_the_server_accepts_it_at_once() {
    let app = TestApp::spawn();
    write_config_for(&app);
    let out = idgate(
        app.dir.path(),
        &[
            "clients",
            "create",
            "reports",
            "--grant",
            "client_credentials",
            "--scope",
            "api:read",
            "--scope",
            "api:write",
        ],
        "",
    );
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    let printed: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(printed["client_id"], "reports");
    let secret = printed["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43, "256 bits, base64url");

    let reply = app.post_form(
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "reports"),
            ("client_secret", &secret),
        ],
        &[],
    );
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["scope"], "api:read api:write");

    let out = idgate(
        app.dir.path(),
        &[
            "clients",
            "create",
            "spa",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:5173/callback",
            "--post-logout-redirect-uri",
            "http://127.0.0.1:5173/",
        ],
        "",
    );
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(stdout(&out).trim()).unwrap(),
        json!({"client_id": "spa", "client_secret": null})
    );

    let out = idgate(app.dir.path(), &["clients", "list"], "");
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    let listing = stdout(&out);
    assert!(listing.contains("reports") && listing.contains("confidential"));
    assert!(listing.contains("spa") && listing.contains("public"));
    assert!(listing.contains("http://127.0.0.1:5173/callback"));
    assert!(
        !listing.contains(&secret),
        "the secret is never shown again"
    );

    let out = idgate(app.dir.path(), &["clients", "delete", "reports"], "");
    assert!(out.status.success(), "{}", last_stderr_line(&out));
    // The server trusts its copy of a client for at most a second.
    std::thread::sleep(idgate::oauth::clients::CLIENT_CACHE_TTL);
    let reply = app.post_form(
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "reports"),
            ("client_secret", &secret),
        ],
        &[],
    );
    assert_eq!(reply.status, 401, "{}", reply.text);
}

#[test]
fn clients_create_refuses_bad_input_in_one_line() {
    let ws = workspace();
    let create = |args: &[&str]| {
        let mut all = vec!["clients", "create"];
        all.extend_from_slice(args);
        idgate(ws.dir.path(), &all, "")
    };
    for (args, expected) in [
        (&["web"][..], "redirect_uri"),
        (
            &["web", "--redirect-uri", "http://app.example.com/cb"],
            "https",
        ),
        (
            &["web", "--redirect-uri", "https://app.example.com/cb#x"],
            "fragment",
        ),
        (&["web", "--redirect-uri", "javascript:alert(1)"], "scheme"),
        (&["web app", "--grant", "client_credentials"], "client_id"),
        (&["idgate", "--grant", "client_credentials"], "reserved"),
        (&["web", "--grant", "implicit"], "unknown grant type"),
        (
            &["web", "--public", "--grant", "client_credentials"],
            "public",
        ),
        (
            &["web", "--grant", "client_credentials", "--scope", "a\"b"],
            "scope",
        ),
    ] {
        let out = create(args);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(
            last_stderr_line(&out).contains(expected),
            "{args:?}: {}",
            last_stderr_line(&out)
        );
    }
    assert!(
        create(&["web", "--redirect-uri", "https://app.example.com/cb"])
            .status
            .success()
    );
    let again = create(&["web", "--redirect-uri", "https://app.example.com/cb"]);
    assert!(!again.status.success());
    assert!(last_stderr_line(&again).contains("already exists"));
    let out = idgate(ws.dir.path(), &["clients", "delete", "nobody"], "");
    assert!(!out.status.success());
    assert!(last_stderr_line(&out).contains("not found"));
}
