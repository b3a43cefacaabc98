-- The single-sign-on round trip of an app whose user already has an idgate session:
-- GET /authorize with the session cookie (303 with a code, no bcrypt), then POST /oauth/token
-- exchanging the code (PKCE, HTTP Basic). Two requests per round trip, alternating on each
-- connection: run with one connection per thread.
local cookie = "idgate_session=" .. os.getenv("SSO_COOKIE")
local authorize_path = os.getenv("AUTHORIZE_PATH")
local basic = os.getenv("WEB_BASIC")
local tail = "&redirect_uri=" .. os.getenv("REDIRECT_URI_ENCODED")
  .. "&code_verifier=" .. os.getenv("PKCE_VERIFIER")
local code = nil

request = function()
  if code then
    local body = "grant_type=authorization_code&code=" .. code .. tail
    code = nil
    return wrk.format("POST", "/oauth/token", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Authorization"] = basic,
    }, body)
  end
  return wrk.format("GET", authorize_path, {["Cookie"] = cookie})
end

response = function(status, headers, body)
  local location = headers["location"] or headers["Location"]
  if status == 303 and location then
    code = location:match("[?&]code=([^&]+)")
  end
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
