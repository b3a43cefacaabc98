// Interop: single sign-on across two apps, with a certified relying-party library.
//
// Usage: node tests/interop/oidc_browser.mjs target/debug/idgate [screenshot.png]
//
// Starts idgate on a free loopback port (fresh SQLite database, a user and two clients made
// with its command line), then two small demo apps on two origins, 127.0.0.1 and 127.0.0.2, each
// an openid-client relying party (discovery, authorization code + PKCE, ID token validation,
// userinfo, refresh, RP-initiated logout). Headless Chromium (playwright-core, Debian's
// /usr/bin/chromium) plays the user: signing in to the first app shows idgate's form; the
// second app then signs in with no form; signing out of one, then visiting the other, shows
// the form again. The sign-in page must log nothing to the console under its CSP.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import * as client from "openid-client";
import { chromium } from "playwright-core";

const PASSWORD = "correct horse battery";
const binary = path.resolve(process.argv[2] ?? "target/debug/idgate");
const screenshot = path.resolve(process.argv[3] ?? "target/interop/sign-in-page.png");

let failures = 0;
function check(name, condition, detail = "") {
  console.log(`${condition ? "ok    " : "FAILED"} ${name}${condition || !detail ? "" : `: ${detail}`}`);
  if (!condition) failures += 1;
}

function freePort(host) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const workdir = mkdtempSync(path.join(tmpdir(), "idgate-oidc-"));
const idgatePort = await freePort("127.0.0.1");
const issuer = `http://127.0.0.1:${idgatePort}`;
const env = {
  ...process.env,
  IDGATE__SERVER__PORT: String(idgatePort),
  IDGATE__ISSUER: issuer,
  IDGATE__DATABASE__URL: "sqlite://idgate.db",
  IDGATE__PASSWORD__BCRYPT_COST: "4",
  IDGATE__LOG__LEVEL: "warn",
};
function idgate(args, input = "") {
  const run = spawnSync(binary, args, { cwd: workdir, env, input, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`idgate ${args.join(" ")}: ${run.stderr}`);
  return run.stdout;
}

const apps = [
  { name: "app-one", host: "127.0.0.1", port: await freePort("127.0.0.1") },
  { name: "app-two", host: "127.0.0.2", port: await freePort("127.0.0.2") },
];
idgate(["users", "create", "alice", "--email", "alice@example.com"], `${PASSWORD}\n`);
for (const app of apps) {
  app.origin = `http://${app.host}:${app.port}`;
  const created = JSON.parse(
    idgate([
      "clients", "create", app.name,
      "--redirect-uri", `${app.origin}/callback`,
      "--post-logout-redirect-uri", `${app.origin}/`,
    ]),
  );
  app.secret = created.client_secret;
}

const server = spawn(binary, ["serve"], { cwd: workdir, env, stdio: ["ignore", "inherit", "inherit"] });
const servers = [];
let browser;
try {
  for (let i = 0; ; i += 1) {
    try {
      if ((await fetch(`${issuer}/readyz`)).ok) break;
    } catch {}
    if (i > 100) throw new Error("idgate did not become ready");
    await new Promise((r) => setTimeout(r, 100));
  }

  // Each app: openid-client configured by discovery, sessions in memory, keyed by a cookie.
  for (const app of apps) {
    app.config = await client.discovery(new URL(issuer), app.name, app.secret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    app.sessions = new Map();
    app.pending = new Map();
    app.events = [];
    servers.push(await startApp(app));
  }

  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      consoleErrors.push(`${message.text()} (${message.location().url})`);
    }
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));

  // 1. The first app sends the browser to idgate's sign-in page.
  await page.goto(`${apps[0].origin}/login`);
  check("app one shows idgate's sign-in page", page.url().startsWith(`${issuer}/authorize`), page.url());
  check("the page names the app", (await page.textContent("main")).includes("app-one"));
  check("the username field has focus", await page.evaluate(() => document.activeElement?.id === "username"));
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.setViewportSize({ width: 360, height: 640 });
  check(
    "the page fits a phone's width",
    await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
  );
  await page.fill("#username", "alice");
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForURL(`${apps[0].origin}/`);
  check("app one is signed in", (await page.textContent("body")).includes("Signed in as alice"));
  check("no console errors on the sign-in page under its CSP", consoleErrors.length === 0, consoleErrors.join(" | "));

  // 2. The second app signs in with no form.
  const visited = [];
  page.on("framenavigated", (frame) => visited.push(frame.url()));
  await page.goto(`${apps[1].origin}/login`);
  await page.waitForURL(`${apps[1].origin}/`);
  check("app two is signed in without a form", (await page.textContent("body")).includes("Signed in as alice"));
  check("no sign-in page was shown to app two", !visited.some((url) => url.startsWith(`${issuer}/authorize`)), visited.join(" "));
  const [one, two] = apps.map((app) => [...app.sessions.values()][0]);
  check("both apps see one idgate session (sid)", one.claims.sid === two.claims.sid);
  check("userinfo answers for app one", one.userinfo.preferred_username === "alice" && one.userinfo.email === "alice@example.com");
  const refreshed = await client.refreshTokenGrant(apps[1].config, two.tokens.refresh_token);
  check("app two refreshes", refreshed.claims()?.sid === two.claims.sid);
  two.tokens = refreshed;

  // 3. Signing out of app one ends the session everywhere.
  await page.goto(`${apps[0].origin}/logout`);
  await page.waitForURL(`${apps[0].origin}/`);
  check("app one is signed out and back home", (await page.textContent("body")).includes("Not signed in"));
  let refused = false;
  try {
    await client.refreshTokenGrant(apps[1].config, two.tokens.refresh_token);
  } catch (error) {
    refused = error.error === "invalid_grant";
  }
  check("app two's refresh token is refused after the sign-out", refused);
  apps[1].sessions.clear();
  await page.goto(`${apps[1].origin}/login`);
  check("app two shows the sign-in form again", page.url().startsWith(`${issuer}/authorize`) && (await page.$("#password")) !== null, page.url());
} finally {
  await browser?.close();
  for (const s of servers) s.close();
  server.kill("SIGTERM");
  rmSync(workdir, { recursive: true, force: true });
}
console.log(failures === 0 ? "oidc browser interop: all passed" : `oidc browser interop: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);

// A demo app: "/" shows who is signed in; /login, /callback and /logout are the relying party.
function startApp(app) {
  const redirectUri = `${app.origin}/callback`;
  const cookieOf = (request) => /app_session=([^;]+)/.exec(request.headers.cookie ?? "")?.[1];
  const handler = async (request, response) => {
    const url = new URL(request.url, app.origin);
    const key = cookieOf(request);
    if (url.pathname === "/") {
      const session = key && app.sessions.get(key);
      response.setHeader("content-type", "text/html");
      response.end(session ? `<p>Signed in as ${session.userinfo.preferred_username}</p>` : "<p>Not signed in</p>");
    } else if (url.pathname === "/login") {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const challenge = await client.calculatePKCECodeChallenge(verifier);
      app.pending.set(state, { verifier, nonce });
      const target = client.buildAuthorizationUrl(app.config, {
        redirect_uri: redirectUri,
        scope: "openid profile email",
        code_challenge: challenge,
        code_challenge_method: "S256",
        state,
        nonce,
      });
      response.writeHead(302, { location: target.href }).end();
    } else if (url.pathname === "/callback") {
      const pending = app.pending.get(url.searchParams.get("state"));
      const tokens = await client.authorizationCodeGrant(app.config, url, {
        pkceCodeVerifier: pending.verifier,
        expectedState: url.searchParams.get("state"),
        expectedNonce: pending.nonce,
      });
      const claims = tokens.claims();
      const userinfo = await client.fetchUserInfo(app.config, tokens.access_token, claims.sub);
      const id = client.randomState();
      app.sessions.set(id, { tokens, claims, userinfo });
      response.writeHead(302, { location: "/", "set-cookie": `app_session=${id}; Path=/; HttpOnly` }).end();
    } else if (url.pathname === "/logout") {
      const session = key && app.sessions.get(key);
      app.sessions.delete(key);
      const target = client.buildEndSessionUrl(app.config, {
        post_logout_redirect_uri: `${app.origin}/`,
        ...(session ? { id_token_hint: session.tokens.id_token } : {}),
      });
      response.writeHead(302, { location: target.href, "set-cookie": "app_session=; Path=/; Max-Age=0" }).end();
    } else if (url.pathname === "/favicon.ico") {
      response.writeHead(204).end();
    } else {
      response.writeHead(404).end();
    }
  };
  return new Promise((resolve) => {
    const s = http.createServer((request, response) =>
      handler(request, response).catch((error) => {
        console.log(`FAILED ${app.name} ${request.url}: ${error.message} ${error.error ?? ""} ${error.error_description ?? ""}`);
        failures += 1;
        response.writeHead(500).end(String(error));
      }),
    );
    s.listen(app.port, app.host, () => resolve(s));
  });
}
