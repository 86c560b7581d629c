-- begin_batch: take a fencing token and read what a matcher needs, atomically.
-- KEYS[1] fence counter   KEYS[2] event sequence   KEYS[3] inbox cursor   KEYS[4] inbox stream
-- ARGV[1] max commands to read
-- Returns {fence, seq, cursor, entries} where entries are the inbox entries after the cursor.
local fence = redis.call('INCR', KEYS[1])
local seq = redis.call('GET', KEYS[2]) or '0'
local cursor = redis.call('GET', KEYS[3]) or '0-0'
local entries = redis.call('XRANGE', KEYS[4], '(' .. cursor, '+', 'COUNT', tonumber(ARGV[1]))
return {fence, seq, cursor, entries}
