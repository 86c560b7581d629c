-- Test helper for test_ticker_crash.py: stamp a trade with the accelerated clock and append it
-- to the journal in one step, as the matcher's commit does, so no close can fall in between.
-- KEYS[1] journal   ARGV[1] clock origin ms   ARGV[2] speed   ARGV[3] sequence   ARGV[4] price   ARGV[5] quantity
-- Returns the trade's time (ms).
local t = redis.call('TIME')
local real_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local origin = tonumber(ARGV[1])
local time_ms = origin + (real_ms - origin) * tonumber(ARGV[2])
local event = cjson.encode({type = 'trade', sequence = tonumber(ARGV[3]), time = time_ms,
                           price = tonumber(ARGV[4]), quantity = tonumber(ARGV[5])})
redis.call('XADD', KEYS[1], '*', 'sequence', ARGV[3], 'event', event)
return time_ms
