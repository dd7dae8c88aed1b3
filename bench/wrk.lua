-- wrk script for `make bench`: each request carries one simulated person's session
-- cookie and asks for that person's own URL, round robin over bench/results/targets-*.txt
-- (lines "session_key path"). With BENCH_POLL_MS set, each connection waits a random
-- 0.5x..1.5x of the poll interval before each request, like a status card between polls;
-- without it, wrk sends as fast as the server answers (throughput).
local targets = {}
local index = 0
local poll_ms = tonumber(os.getenv("BENCH_POLL_MS") or "0")
local extra_headers = os.getenv("BENCH_HEADERS") or ""

function init(args)
  local file = assert(io.open(os.getenv("BENCH_TARGETS"), "r"))
  for line in file:lines() do
    local key, path = line:match("^(%S*)%s+(%S+)$")
    if path then table.insert(targets, { key = key, path = path }) end
  end
  file:close()
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  index = math.random(#targets)
end

function request()
  index = index % #targets + 1
  local target = targets[index]
  local headers = { ["Accept-Encoding"] = "gzip, deflate, br" }
  if target.key ~= "-" then headers["Cookie"] = "sessionid=" .. target.key end
  if extra_headers:find("htmx") then headers["HX-Request"] = "true" end
  return wrk.format("GET", target.path, headers)
end

if poll_ms > 0 then
  function delay()
    return math.random(math.floor(poll_ms / 2), math.floor(poll_ms * 3 / 2))
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "BENCH_JSON {\"requests\": %d, \"bytes\": %d, \"duration_us\": %d, \"p50_us\": %d, \"p95_us\": %d, \"p99_us\": %d, \"max_us\": %d, \"non_2xx\": %d, \"connect_errors\": %d, \"read_errors\": %d, \"timeouts\": %d}\n",
    summary.requests, summary.bytes, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    errors.status, errors.connect, errors.read, errors.timeout))
end
