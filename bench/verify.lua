-- POST /api/token/verify/ with a live access token.
wrk.method = "POST"
wrk.path = "/api/token/verify/"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"token": "%s"}', os.getenv("ACCESS_TOKEN"))
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
