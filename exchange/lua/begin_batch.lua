-- begin_batch: take a fencing token and read what a matcher needs, atomically.
-- KEYS[1] fence counter   KEYS[2] event sequence   KEYS[3] inbox cursor   KEYS[4] inbox stream
-- KEYS[5] journal epoch
-- ARGV[1] max commands to read
-- Returns {fence, seq, cursor, entries, epoch} where entries are the inbox entries after the
-- cursor. A missing epoch is made from Redis's clock (ms): a journal that starts again (Redis
-- lost its data) starts in a new epoch, which its readers can tell from the one they followed.
local fence = redis.call('INCR', KEYS[1])
local seq = redis.call('GET', KEYS[2]) or '0'
local cursor = redis.call('GET', KEYS[3]) or '0-0'
local entries = redis.call('XRANGE', KEYS[4], '(' .. cursor, '+', 'COUNT', tonumber(ARGV[1]))
local epoch = redis.call('GET', KEYS[5])
if not epoch then
  local now = redis.call('TIME')
  epoch = tostring(tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
  redis.call('SET', KEYS[5], epoch)
end
return {fence, seq, cursor, entries, epoch}
