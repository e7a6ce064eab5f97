-- wrk script for scripts/load.sh: cycles through prebuilt `GET /api/items/<n>` requests, one
-- X-API-Key per line of $REQUESTS_FILE (every thread starts at its own offset), and prints one
-- machine-readable line when done:
--   RESULT <req/s> <p50 µs> <p99 µs> <requests> <non-2xx/3xx> <socket errors>
local reqs = {}
local i = 0
local threads = 0

setup = function(thread)
  thread:set("offset", threads * 37)
  threads = threads + 1
end

init = function(args)
  local n = 0
  for line in io.lines(os.getenv("REQUESTS_FILE")) do
    n = n + 1
    reqs[n] = wrk.format("GET", "/api/items/" .. n, { ["X-API-Key"] = line })
  end
  i = (offset or 0) % n
end

request = function()
  i = i % #reqs + 1
  return reqs[i]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.1f %d %d %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
