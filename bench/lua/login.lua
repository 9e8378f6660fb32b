-- POSTs a login form on every request and counts bad statuses (status.lua).
--
-- Each wrk thread logs in as its own account and from its own client
-- address, fresh ones in every case and round: thread n of round r
-- (BENCH_ROUND) in case c (BENCH_LOGIN_CASE, the connection count) sends
-- BENCH_LOGIN_BODY_<c>_<r>_<n> with X-Forwarded-For 10.<c>.<r>.<n>,
-- falling back to BENCH_LOGIN_BODY. Why: Gatehouse counts a login attempt
-- as a failure while its password is being checked, and refuses (429)
-- more than LOGIN_MAX_FAILURES (5) in flight for one account from one IP
-- and more than 20 failures from one IP. With -c8 and two threads, one
-- account per thread keeps at most 4 in flight. Fresh ones per case and
-- round because wrk ends a run by dropping its connections: a login cut
-- off mid-check can stay counted as a failure for the LOGIN_FAILURE_WINDOW,
-- and the next run on the same account or address would start with those.
-- The address only counts where the server trusts 127.0.0.1 as a proxy
-- (bench/run's login instance); bare Echo ignores it.
-- The bodies come from the environment (already url-encoded), so no password
-- is written into a file.
dofile(os.getenv("BENCH_LUA_DIR") .. "/status.lua")

wrk.method = "POST"
wrk.body = os.getenv("BENCH_LOGIN_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"

local collect_thread = setup -- status.lua's
local n = 0
function setup(thread) -- main state, once per thread, before init
  collect_thread(thread)
  n = n + 1
  local round = os.getenv("BENCH_ROUND") or "1"
  local case = os.getenv("BENCH_LOGIN_CASE") or "0"
  thread:set("login_body", os.getenv("BENCH_LOGIN_BODY_" .. case .. "_" .. round .. "_" .. n) or wrk.body)
  thread:set("login_xff", "10." .. case .. "." .. round .. "." .. n)
end

local count_init = init -- status.lua's
function init(args) -- thread state; wrk builds its fixed request after this
  count_init(args)
  wrk.body = login_body
  wrk.headers["X-Forwarded-For"] = login_xff
end
