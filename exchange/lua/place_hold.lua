-- place_hold: reserve funds for an order, or refuse.
-- KEYS[1] account hash
-- ARGV[1] asset ('cash' or a symbol)   ARGV[2] amount (integer > 0)   ARGV[3] order id
-- Moves amount from <asset>:available to <asset>:on_hold and records it as
-- hold:<order id>:<asset> = amount. Returns 1, 0 (insufficient funds) or -1 (no account).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
local amount = tonumber(ARGV[2])
local available = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':available') or '0')
if available < amount then
  return 0
end
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':available', -amount)
redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':on_hold', amount)
redis.call('HSET', KEYS[1], 'hold:' .. ARGV[3] .. ':' .. ARGV[1], amount)
return 1
