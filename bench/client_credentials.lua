-- POST /oauth/token, grant_type=client_credentials, the client authenticated by HTTP Basic.
local authorization = os.getenv("CLIENT_BASIC")

request = function()
  return wrk.format("POST", "/oauth/token", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = authorization,
  }, "grant_type=client_credentials")
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
