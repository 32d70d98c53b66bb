-- wrk script for bench_stock_move.py: single-line POST /api/v1/warehouse/stock/move with a unique
-- Idempotency-Key per request. Arguments: token first_product products production store,store,... run
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  token, first, products, production, run = args[1], tonumber(args[2]), tonumber(args[3]), args[4], args[6]
  stores = {}
  for s in string.gmatch(args[5], "[^,]+") do table.insert(stores, s) end
  math.randomseed(tid * 7919 + 17)
  counter, created, other = 0, 0, 0
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"reference":"BENCH-%d-%d","lines":[{"product_id":%d,"from_location_id":%s,"to_location_id":%s,"quantity":"0.5"}]}',
    tid, counter, first + math.random(0, products - 1), stores[math.random(1, #stores)], production)
  return wrk.format("POST", "/api/v1/warehouse/stock/move", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = string.format("w-%s-%d-%d", run, tid, counter),
  }, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  else
    other = other + 1
    if first_bad == nil then first_bad = status .. " " .. string.sub(body, 1, 300) end
  end
end

function done(summary, latency, requests)
  local ok, bad, sample = 0, 0, ""
  for _, t in ipairs(threads) do
    ok = ok + t:get("created")
    bad = bad + t:get("other")
    if t:get("first_bad") ~= nil then sample = t:get("first_bad") end
  end
  if sample ~= "" then io.write("FIRST-OTHER " .. sample .. "\n") end
  io.write(string.format(
    "WRK {\"created\": %d, \"other\": %d, \"duration_s\": %.3f, \"socket_errors\": %d, " ..
    "\"p50_ms\": %.2f, \"p95_ms\": %.2f, \"p99_ms\": %.2f}\n",
    ok, bad, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
