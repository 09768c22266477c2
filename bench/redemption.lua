-- Bills from many restaurants at once, for wrk (bench/redemption.py writes the counters file).
--
--   wrk ... -s bench/redemption.lua http://127.0.0.1:19000 -- <counters file> <bill yen>
--
-- Each line of the counters file is "restaurant_id access_token card_number". Every request
-- picks one at random: the restaurant's own token, a card of the region, and a fresh
-- Idempotency-Key as a till sends. done() prints one JSON line the Python side reads.

local counters = {}
local bill = 1
local sequence = 0

function init(args)
  for line in io.lines(args[1]) do
    local restaurant, token, card = line:match("^(%S+) (%S+) (%S+)$")
    table.insert(counters, {restaurant = restaurant, token = token, card = card})
  end
  bill = tonumber(args[2] or "1")
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16))
end

function request()
  local counter = counters[math.random(#counters)]
  sequence = sequence + 1
  local headers = {
    ["Authorization"] = "Bearer " .. counter.token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d", os.time(), math.random(1e9), sequence),
  }
  local body = string.format('{"bill_yen": %d, "card_number": "%s"}', bill, counter.card)
  return wrk.format("POST", "/v1/restaurants/" .. counter.restaurant .. "/redemptions",
                    headers, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors_status": %d, "errors_connect": %d,' ..
    ' "errors_read": %d, "errors_write": %d, "errors_timeout": %d,' ..
    ' "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
