-- POST /api/token/ for a user whose password hash has cost 12.
wrk.method = "POST"
wrk.path = "/api/token/"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"username": "%s", "password": "%s"}',
  os.getenv("SIGN_IN_USER"), os.getenv("SIGN_IN_PASSWORD"))
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
