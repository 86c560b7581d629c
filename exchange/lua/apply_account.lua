-- apply_account: apply settlement steps to one account, each exactly once.
-- KEYS[1] account hash
-- ARGV[1] symbol whose journal the steps come from
-- ARGV[2..] steps: <sequence> <n ops> then n ops, each one of
--   add <field> <delta>              HINCRBY
--   release <order id> <asset>       move what is left of hold:<order id> back to <asset>:available
--   consume <order id> <asset> <n>   take n from hold:<order id> and <asset>:on_hold
-- A step whose sequence is not above applied:<symbol> was applied before and is skipped.
-- Returns the number of steps applied.
local applied_field = 'applied:' .. ARGV[1]
local applied = tonumber(redis.call('HGET', KEYS[1], applied_field) or '0')
local i = 2
local n = #ARGV
local count = 0
while i <= n do
  local sequence = tonumber(ARGV[i])
  local ops = tonumber(ARGV[i + 1])
  i = i + 2
  local fresh = sequence > applied
  for _ = 1, ops do
    local op = ARGV[i]
    if op == 'add' then
      if fresh then redis.call('HINCRBY', KEYS[1], ARGV[i + 1], ARGV[i + 2]) end
      i = i + 3
    elseif op == 'consume' then
      if fresh then
        local hold = 'hold:' .. ARGV[i + 1]
        local amount = tonumber(ARGV[i + 3])
        local left = redis.call('HINCRBY', KEYS[1], hold, -amount)
        redis.call('HINCRBY', KEYS[1], ARGV[i + 2] .. ':on_hold', -amount)
        if left <= 0 then redis.call('HDEL', KEYS[1], hold) end
      end
      i = i + 4
    elseif op == 'release' then
      if fresh then
        local hold = 'hold:' .. ARGV[i + 1]
        local left = tonumber(redis.call('HGET', KEYS[1], hold) or '0')
        if left > 0 then
          redis.call('HINCRBY', KEYS[1], ARGV[i + 2] .. ':on_hold', -left)
          redis.call('HINCRBY', KEYS[1], ARGV[i + 2] .. ':available', left)
        end
        redis.call('HDEL', KEYS[1], hold)
      end
      i = i + 3
    else
      return redis.error_reply('apply_account: unknown op ' .. tostring(op))
    end
  end
  if fresh then
    applied = sequence
    count = count + 1
  end
end
redis.call('HSET', KEYS[1], applied_field, applied)
return count
