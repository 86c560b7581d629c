-- place_hold: reserve funds for an order, or refuse; with a client order id, the first
-- answer for that id is the only one.
-- KEYS[1] account hash   KEYS[2] the client order id's record (absent: the order has none)
-- ARGV[1] asset ('cash' or a symbol)   ARGV[2] amount (integer > 0)   ARGV[3] order id
-- ARGV[4..6] only with a client order id: ARGV[4] seconds its record lives
-- ARGV[5] a refusal already decided (JSON) to record as the id's answer, or ''
-- ARGV[6] the refusal (JSON) to record if funds are insufficient
-- Moves amount from <asset>:available to <asset>:on_hold and records it as
-- hold:<order id>:<asset> = amount; the client order id's record becomes {"order_id": ...}.
-- Returns {1} held, {0} insufficient funds, {3} the given refusal recorded, {-1} no account,
-- or {2, <record>} when the client order id already has an answer (nothing else happens).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-1}
end
local coid = KEYS[2]
if coid then
  local existing = redis.call('GET', coid)
  if existing then
    return {2, existing}
  end
  if ARGV[5] ~= '' then
    redis.call('SET', coid, ARGV[5], 'EX', ARGV[4])
    return {3}
  end
end
local amount = tonumber(ARGV[2])
local available = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':available') or '0')
if available < amount then
  if coid then redis.call('SET', coid, ARGV[6], 'EX', ARGV[4]) end
  return {0}
end
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':available', -amount)
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':on_hold', amount)
redis.call('HSET', KEYS[1], 'hold:' .. ARGV[3] .. ':' .. ARGV[1], amount)
if coid then
  redis.call('SET', coid, cjson.encode({order_id = ARGV[3]}), 'EX', ARGV[4])
end
return {1}
