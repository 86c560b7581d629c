-- The matchers' roster: renew one matcher's place in it and answer who is alive, on the Redis
-- server's clock (so matchers on several hosts need not agree on the time).
-- KEYS[1]  the roster: sorted set, matcher id -> when its place lapses (ms, server clock)
-- ARGV[1]  this matcher's id
-- ARGV[2]  how long its place lasts unless renewed (ms)
-- Returns the ids of every matcher whose place has not lapsed, this one's included.
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
