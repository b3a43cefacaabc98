-- GET /.well-known/jwks.json; with ETAG set, a conditional GET that should answer 304.
local etag = os.getenv("ETAG")
wrk.method = "GET"
wrk.path = "/.well-known/jwks.json"
if etag and etag ~= "" then
  wrk.headers["If-None-Match"] = etag
end
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
