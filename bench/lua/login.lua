-- POSTs a login form on every request and counts bad statuses (status.lua).
--
-- Each wrk thread logs in as its own account, a fresh one in every round:
-- thread n of round r (BENCH_ROUND) sends BENCH_LOGIN_BODY_<r>_<n>, falling
-- back to BENCH_LOGIN_BODY. Why: Gatehouse counts a login attempt as a
-- failure while its password is being checked, and refuses (429) more than
-- LOGIN_MAX_FAILURES (5) in flight for one account from one IP. With -c8 and
-- two threads, one account per thread keeps at most 4 in flight. A fresh
-- account per round because wrk ends a run by dropping its connections: a
-- login cut off mid-check can stay counted as a failure for the
-- LOGIN_FAILURE_WINDOW, and the next round on the same account would start
-- with those and answer 429.
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
  thread:set("login_body", os.getenv("BENCH_LOGIN_BODY_" .. round .. "_" .. n) or wrk.body)
end

local count_init = init -- status.lua's
function init(args) -- thread state; wrk builds its fixed request after this
  count_init(args)
  wrk.body = login_body
end
