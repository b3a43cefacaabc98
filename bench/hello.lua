-- GET /hello/ of examples/downstream with a live access token: verified offline, by the
-- idgate-verifier crate, with the revocation feed polled.
wrk.method = "GET"
wrk.path = "/hello/"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ACCESS_TOKEN")
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
