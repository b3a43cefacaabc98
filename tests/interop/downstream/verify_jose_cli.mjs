// For the interop check: verifies each token given on the command line with the README's
// snippet and prints one JSON line per token ({"ok": true, "claims"} or {"ok": false, "error"}).
import { verify } from "./verify_jose.mjs";

for (const token of process.argv.slice(2)) {
  try {
    console.log(JSON.stringify({ ok: true, claims: await verify(token) }));
  } catch (error) {
    console.log(JSON.stringify({ ok: false, error: `${error.code ?? error.name}: ${error.message}` }));
  }
}
