-- release_hold: give back a hold whose order never reached the book (reconciliation).
-- KEYS[1] account hash
-- ARGV[1] hold field ('hold:<order id>:<asset>')   ARGV[2] asset
-- Returns the amount released (0 if the hold was already gone).
local amount = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if amount > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[2] .. ':on_hold', -amount)
  redis.call('HINCRBY', KEYS[1], ARGV[2] .. ':available', amount)
end
redis.call('HDEL', KEYS[1], ARGV[1])
return amount
