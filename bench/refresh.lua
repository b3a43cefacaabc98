-- POST /api/token/refresh/ (or, with CLIENT_BASIC set, POST /oauth/token with
-- grant_type=refresh_token for that client), every request with a fresh, unused refresh token.
-- Rotation makes each token single-use, so each thread starts from its share of a pre-minted
-- pool (one sign-in session per connection, plus one per thread: wrk builds one request per
-- thread before it connects, and never sends it) and every answer's new refresh token goes
-- back into the pool for a later request. A request that found the pool empty would send an
-- empty token and count as an error.
local pool = {}
local tokens_file = os.getenv("REFRESH_POOL")
local client_basic = os.getenv("CLIENT_BASIC")

function setup(thread)
  thread:set("thread_index", setup_count or 0)
  setup_count = (setup_count or 0) + 1
end

function init(args)
  local threads = tonumber(os.getenv("WRK_THREADS"))
  local index = 0
  for line in io.lines(tokens_file) do
    if index % threads == thread_index then
      table.insert(pool, line)
    end
    index = index + 1
  end
end

function request()
  local token = table.remove(pool) or ""
  if client_basic then
    return wrk.format("POST", "/oauth/token", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Authorization"] = client_basic,
    }, "grant_type=refresh_token&refresh_token=" .. token)
  end
  return wrk.format("POST", "/api/token/refresh/",
    {["Content-Type"] = "application/json"}, '{"refresh": "' .. token .. '"}')
end

function response(status, headers, body)
  local token = body:match('"refresh":"([^"]+)"') or body:match('"refresh_token":"([^"]+)"')
  if token then
    table.insert(pool, token)
  end
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
