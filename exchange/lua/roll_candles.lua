-- roll_candles: fold journal trades into the live 1s and 1m candles exactly once, and close
-- candles whose interval has ended.
-- KEYS[1] live 1s candle hash   KEYS[2] live 1m candle hash   KEYS[3] recent 1s list
-- KEYS[4] closed minutes zset   KEYS[5] ticker cursor          KEYS[6] last closed minute start
-- KEYS[7] the symbol's journal
-- ARGV[1] the cursor the batch was read after ('' when there is no batch)   ARGV[2] the new cursor
-- ARGV[3] now, epoch seconds (0: close nothing by time)   ARGV[4] grace seconds after an interval ends
-- ARGV[5..] trades as triples: <time ms> <price ticks> <quantity>
-- A batch is refused ('stale') unless the cursor is still ARGV[1]: another replica
-- applied it, and a candle must never count a trade twice. A trade in a later
-- interval closes the open candle (1s: onto the recent list; 1m: into the zset
-- that is persisted). A trade for a minute already closed (the ticker lagged past
-- the grace) counts in the next minute, so a closed minute is never reopened.
if ARGV[1] ~= '' and (redis.call('GET', KEYS[5]) or '0-0') ~= ARGV[1] then
  return 'stale'
end

local function close(key, minute)
  local c = redis.call('HGETALL', key)
  if #c == 0 then return end
  local candle = {}
  for j = 1, #c, 2 do candle[c[j]] = tonumber(c[j + 1]) end
  local encoded = cjson.encode(candle)
  if minute then
    redis.call('ZADD', KEYS[4], candle['start'], encoded)
    redis.call('SET', KEYS[6], candle['start'])
  else
    redis.call('LPUSH', KEYS[3], encoded)
    redis.call('LTRIM', KEYS[3], 0, 599)
  end
  redis.call('DEL', key)
end

local function fold(key, start, price, quantity, minute)
  local current = tonumber(redis.call('HGET', key, 'start') or '-1')
  if current >= 0 and start > current then
    close(key, minute)
    current = -1
  end
  if current < 0 then
    redis.call('HSET', key, 'start', start, 'open', price, 'high', price, 'low', price, 'close', price,
               'volume', quantity, 'trades', 1)
  else
    if price > tonumber(redis.call('HGET', key, 'high')) then redis.call('HSET', key, 'high', price) end
    if price < tonumber(redis.call('HGET', key, 'low')) then redis.call('HSET', key, 'low', price) end
    redis.call('HSET', key, 'close', price)
    redis.call('HINCRBY', key, 'volume', quantity)
    redis.call('HINCRBY', key, 'trades', 1)
  end
end

local closed_upto = tonumber(redis.call('GET', KEYS[6]) or '-60')
for i = 5, #ARGV, 3 do
  local seconds = math.floor(tonumber(ARGV[i]) / 1000)
  local price, quantity = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  fold(KEYS[1], seconds, price, quantity, false)
  fold(KEYS[2], math.max(seconds - seconds % 60, closed_upto + 60), price, quantity, true)
end
if ARGV[1] ~= '' then
  redis.call('SET', KEYS[5], ARGV[2])
end

-- Close by the clock only once every journal entry is in: while catching up on a
-- backlog, old minutes must wait for the rest of their trades.
local now = tonumber(ARGV[3])
local last = redis.call('XREVRANGE', KEYS[7], '+', '-', 'COUNT', 1)
local caught_up = #last == 0 or last[1][1] == (redis.call('GET', KEYS[5]) or '0-0')
if now > 0 and caught_up then
  local grace = tonumber(ARGV[4])
  local second = tonumber(redis.call('HGET', KEYS[1], 'start') or '-1')
  if second >= 0 and second + 1 + grace <= now then close(KEYS[1], false) end
  local minute = tonumber(redis.call('HGET', KEYS[2], 'start') or '-1')
  if minute >= 0 and minute + 60 + grace <= now then close(KEYS[2], true) end
end
return 'ok'
