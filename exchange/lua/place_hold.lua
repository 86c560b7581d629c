-- place_hold: reserve funds for an order, or refuse; count the order against its owner's
-- order rate; with a client order id, the first answer for that id is the only one.
-- KEYS[1] account hash   KEYS[2] the owner's order-rate counter (one window)
-- KEYS[3] the client order id's record (absent: the order has none)
-- ARGV[1] asset ('cash' or a symbol)   ARGV[2] amount (integer > 0)   ARGV[3] order id
-- ARGV[4] orders allowed per window (0: no limit)   ARGV[5] the window, ms
-- ARGV[6..8] only with a client order id: ARGV[6] seconds its record lives
-- ARGV[7] a refusal already decided (JSON) to record as the id's answer, or ''
-- ARGV[8] the refusal (JSON) to record if funds are insufficient
-- Moves amount from <asset>:available to <asset>:on_hold and records it as
-- hold:<order id>:<asset> = amount; the client order id's record becomes {"order_id": ...}.
-- Returns {1} held, {0} insufficient funds, {3} the given refusal recorded, {-1} no account,
-- {2, <record>} when the client order id already has an answer (nothing else happens), or
-- {4, <ms until the window ends>} over the order rate (nothing is held or recorded: a retry
-- after the window is a new try).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
local coid = KEYS[3]
if coid then
  local existing = redis.call('GET', coid)
  if existing then
    return {2, existing}
  end
end
local per_window = tonumber(ARGV[4])
if per_window > 0 then
  local placed = redis.call('INCR', KEYS[2])
  if placed == 1 then
    redis.call('PEXPIRE', KEYS[2], ARGV[5])
  end
  if placed > per_window then
    return {4, redis.call('PTTL', KEYS[2])}
  end
end
if coid and ARGV[7] ~= '' then
  redis.call('SET', coid, ARGV[7], 'EX', ARGV[6])
  return {3}
end
local amount = tonumber(ARGV[2])
local available = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':available') or '0')
if available < amount then
  if coid then redis.call('SET', coid, ARGV[8], 'EX', ARGV[6]) end
  return {0}
end
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':available', -amount)
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':on_hold', amount)
redis.call('HSET', KEYS[1], 'hold:' .. ARGV[3] .. ':' .. ARGV[1], amount)
if coid then
  redis.call('SET', coid, cjson.encode({order_id = ARGV[3]}), 'EX', ARGV[6])
end
return {1}
