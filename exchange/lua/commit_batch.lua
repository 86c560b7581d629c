-- commit_batch: apply one matched batch to a symbol's book, or refuse it.
-- The batch is refused unless ARGV[1] is still the newest fencing token and the
-- book is still at the sequence the batch was matched against; so a matcher
-- whose lock expired can waste work but never write.
-- orderbook/commit_batch.py builds the keys and ops (its Key names KEYS[1..16]).
--
-- KEYS[1] fence   KEYS[2] seq   KEYS[3] cursor   KEYS[4] inbox   KEYS[5] events
-- KEYS[6] bids    KEYS[7] asks  KEYS[8] orders hash   KEYS[9] recent trades list
-- KEYS[10] voided order ids (sorted set, by time)
-- KEYS[11] bid levels   KEYS[12] ask levels (sorted sets of prices)
-- KEYS[13] bid depth    KEYS[14] ask depth (hashes price -> total quantity)
-- KEYS[15] done orders (sorted set: order id by the sequence it ended at)
-- KEYS[16] parked stop orders (sorted set, member as in bids/asks, by priority)
-- KEYS[17..] per-batch keys (open-order sets, fill lists, reply lists), named by index in ops
-- ARGV[1] fence token   ARGV[2] expected seq   ARGV[3] new seq   ARGV[4] new cursor
-- ARGV[5] how many commands to read for the next batch (0: none)
-- ARGV[6..] ops, each an opcode followed by its arguments:
--   Z+ <key idx> <score> <member>        add a resting order to bids (6) or asks (7), or park a stop (16)
--   Z- <key idx> <member>                remove a resting order or a parked stop
--   H  <order id> <json>                 set an order's state
--   HD <order id> <json> <sequence>      set a done order's final state and index it as done
--   S+ <key idx> <member>  /  S- <key idx> <member>   open-order set add / remove
--   L  <key idx> <json>                  append a fill to an order's fill list
--   R  <key idx> <json>                  push a reply (expires after 60 s)
--   E  <sequence> <json>                 append an event to the journal
--   T  <json>                            push a trade onto the recent-trades list (newest first, capped)
--   ST <key idx> <json>                  set the symbol's trading status (halted or trading)
--   V  <order id> <time ms> <forget before ms>   refuse an order id for good; forget older ones
--   D  <levels key idx> <depth key idx> <score> <price> <total>   a level's total (0: the level is gone)
--   D0                                   drop every level total (a full set of D ops follows)
-- Returns {'ok', <id of the last journal entry>, <next entries>}, 'stale_fence' or 'stale_seq'.
-- Inbox entries waiting after the new cursor are handed back, so a busy matcher needs one
-- round trip per batch; its fencing token stays valid until another holder takes a newer one.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 'stale_fence'
end
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[2] then
  return 'stale_seq'
end
local i = 6
local n = #ARGV
local last_event_id = false
while i <= n do
  local op = ARGV[i]
  if op == 'Z+' then
    redis.call('ZADD', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2], ARGV[i + 3]); i = i + 4
  elseif op == 'Z-' then
    redis.call('ZREM', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]); i = i + 3
  elseif op == 'H' then
    redis.call('HSET', KEYS[8], ARGV[i + 1], ARGV[i + 2]); i = i + 3
  elseif op == 'HD' then
    redis.call('HSET', KEYS[8], ARGV[i + 1], ARGV[i + 2])
    redis.call('ZADD', KEYS[15], ARGV[i + 3], ARGV[i + 1]); i = i + 4
  elseif op == 'S+' then
    redis.call('SADD', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]); i = i + 3
  elseif op == 'S-' then
    redis.call('SREM', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]); i = i + 3
  elseif op == 'L' then
    redis.call('RPUSH', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]); i = i + 3
  elseif op == 'R' then
    local key = KEYS[tonumber(ARGV[i + 1])]
    redis.call('LPUSH', key, ARGV[i + 2]); redis.call('EXPIRE', key, 60); i = i + 3
  elseif op == 'E' then
    last_event_id = redis.call('XADD', KEYS[5], '*', 'sequence', ARGV[i + 1], 'event', ARGV[i + 2]); i = i + 3
  elseif op == 'T' then
    redis.call('LPUSH', KEYS[9], ARGV[i + 1]); i = i + 2
  elseif op == 'ST' then
    redis.call('SET', KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]); i = i + 3
  elseif op == 'V' then
    redis.call('ZADD', KEYS[10], ARGV[i + 2], ARGV[i + 1])
    redis.call('ZREMRANGEBYSCORE', KEYS[10], '-inf', '(' .. ARGV[i + 3]); i = i + 4
  elseif op == 'D' then
    local levels, depth = KEYS[tonumber(ARGV[i + 1])], KEYS[tonumber(ARGV[i + 2])]
    if ARGV[i + 5] == '0' then
      redis.call('ZREM', levels, ARGV[i + 4]); redis.call('HDEL', depth, ARGV[i + 4])
    else
      redis.call('ZADD', levels, ARGV[i + 3], ARGV[i + 4]); redis.call('HSET', depth, ARGV[i + 4], ARGV[i + 5])
    end
    i = i + 6
  elseif op == 'D0' then
    redis.call('DEL', KEYS[11], KEYS[12], KEYS[13], KEYS[14]); i = i + 1
  else
    return redis.error_reply('commit_batch: unknown op ' .. tostring(op))
  end
end
redis.call('LTRIM', KEYS[9], 0, 999)
redis.call('SET', KEYS[2], ARGV[3])
redis.call('SET', KEYS[3], ARGV[4])
redis.call('XTRIM', KEYS[4], 'MINID', '~', ARGV[4])
local next_entries = {}
if tonumber(ARGV[5]) > 0 then
  next_entries = redis.call('XRANGE', KEYS[4], '(' .. ARGV[4], '+', 'COUNT', tonumber(ARGV[5]))
end
return {'ok', last_event_id, next_entries}
