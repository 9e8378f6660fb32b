-- Counts every answer that is not 2xx/3xx, by status code, and prints them
-- when wrk ends: a benchmark of 401s measures nothing, so bench/run checks
-- the BAD_STATUS line and flags the case.
--
-- wrk runs one Lua state per thread: each thread counts in its own globals,
-- and done() (in the main state) collects them through thread:get().
-- Scripts that send a request (login.lua) load this file and add request().

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = {}   -- status code -> count, this thread only
  good = 0
end

function response(status, headers, body)
  if status >= 200 and status < 400 then
    good = good + 1
  else
    bad[status] = (bad[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total, codes, keys, ok = 0, {}, {}, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("good")
    for code, n in pairs(t:get("bad")) do
      codes[code] = (codes[code] or 0) + n
      total = total + n
    end
  end
  for code in pairs(codes) do table.insert(keys, code) end
  table.sort(keys)
  local parts = {}
  for _, code in ipairs(keys) do
    table.insert(parts, string.format("%d:%d", code, codes[code]))
  end
  local e = summary.errors
  -- One machine-readable line each; bench/run greps for them.
  io.write(string.format("GOOD_STATUS %d\n", ok))
  io.write(string.format("BAD_STATUS %d %s\n", total, table.concat(parts, ",")))
  io.write(string.format("SOCKET_ERRORS connect=%d read=%d write=%d timeout=%d\n",
    e.connect, e.read, e.write, e.timeout))
  io.write(string.format("REQ_PER_SEC %.2f\n", summary.requests / (summary.duration / 1e6)))
end
