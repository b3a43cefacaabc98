-- POST /api/token/ for a username locked out from this address: every answer is a 429 that
-- checks no password.
wrk.method = "POST"
wrk.path = "/api/token/"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"username": "%s", "password": "not the password"}',
  os.getenv("LOCKED_USER"))
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
