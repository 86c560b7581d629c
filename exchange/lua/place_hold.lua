-- place_hold: reserve funds for one user's orders (one, or a batch), in the order given, or
-- refuse each; count each order against its owner's order rate; with a client order id, the
-- first answer for that id is the only one.
-- KEYS[1] account hash   KEYS[2] the owner's order-rate counter (one window)
-- KEYS[3] the owner's list of orders (a sorted set by entry time, ms)
-- KEYS[4..] the client order ids' records, of the orders that have one
-- ARGV[1] orders allowed per window (0: no limit)   ARGV[2] the window, ms
-- ARGV[3] seconds a client order id's record lives
-- ARGV[4] the most shares of one symbol a user may hold with what their open buys may buy (0: no limit)
-- then 10 per order: asset ('cash' or a symbol), amount (integer >= 0), order id,
-- the index in KEYS of its client order id's record (0: it has none),
-- a refusal already decided (JSON) to record as the id's answer, or '',
-- the refusal (JSON) to record if funds are insufficient, or '',
-- the symbol a buy buys and its quantity ('' and 0 for a sell),
-- the refusal (JSON) to record if a buy would pass the position limit, or '',
-- the order's entry time (ms): a held order joins its owner's list with its hold, in the
-- owner's slot, so no acknowledged order can be missing from it whatever fails afterwards
-- Moves amount from <asset>:available to <asset>:on_hold and records it as
-- hold:<order id>:<asset> = amount; a buy also adds its quantity to <symbol>:buying and records
-- it as buys:<order id> (settlement takes both down as it fills and ends); the client order id's
-- record becomes {"order_id": ...}.
-- Returns -1 if there is no account, else one reply per order: {1} held, {0} insufficient
-- funds, {3} the given refusal recorded, {2, <record>} when the client order id already has an
-- answer (nothing else happens), {4, <ms until the window ends>} over the order rate
-- (nothing is held or recorded: a retry after the window is a new try), or {5, <shares held and
-- being bought>} when a buy would pass the position limit.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
local per_window = tonumber(ARGV[1])
local record_ttl = ARGV[3]
local max_position = tonumber(ARGV[4])

local function field(name)
  return tonumber(redis.call('HGET', KEYS[1], name) or '0')
end

local function place(asset, amount, order_id, coid, refusal, insufficient, symbol, buying, over_position,
                     entered_ms)
  if coid then
    local existing = redis.call('GET', coid)
    if existing then
      return {2, existing}
    end
  end
  if per_window > 0 then
    local placed = redis.call('INCR', KEYS[2])
    if placed == 1 then
      redis.call('PEXPIRE', KEYS[2], ARGV[2])
    end
    if placed > per_window then
      return {4, redis.call('PTTL', KEYS[2])}
    end
  end
  if coid and refusal ~= '' then
    redis.call('SET', coid, refusal, 'EX', record_ttl)
    return {3}
  end
  if buying > 0 and max_position > 0 then
    local held = field(symbol .. ':available') + field(symbol .. ':on_hold') + field(symbol .. ':buying')
    if held + buying > max_position then
      if coid then redis.call('SET', coid, over_position, 'EX', record_ttl) end
      return {5, held}
    end
  end
  if field(asset .. ':available') < amount then
    if coid then redis.call('SET', coid, insufficient, 'EX', record_ttl) end
    return {0}
  end
  redis.call('HINCRBY', KEYS[1], asset .. ':available', -amount)
  redis.call('HINCRBY', KEYS[1], asset .. ':on_hold', amount)
  redis.call('HSET', KEYS[1], 'hold:' .. order_id .. ':' .. asset, amount)
  if buying > 0 then
    redis.call('HINCRBY', KEYS[1], symbol .. ':buying', buying)
    redis.call('HSET', KEYS[1], 'buys:' .. order_id, buying)
  end
  redis.call('ZADD', KEYS[3], entered_ms, order_id)
  if coid then
    redis.call('SET', coid, cjson.encode({order_id = order_id}), 'EX', record_ttl)
  end
  return {1}
end

local replies = {}
for first = 5, #ARGV, 10 do
  local coid_index = tonumber(ARGV[first + 3])
  local coid = nil
  if coid_index > 0 then coid = KEYS[coid_index] end
  replies[#replies + 1] = place(ARGV[first], tonumber(ARGV[first + 1]), ARGV[first + 2], coid,
                                ARGV[first + 4], ARGV[first + 5], ARGV[first + 6], tonumber(ARGV[first + 7]),
                                ARGV[first + 8], ARGV[first + 9])
end
return replies
