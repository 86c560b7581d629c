-- apply_account: apply settlement postings to one live account, each exactly once.
-- KEYS[1] account hash   KEYS[2] the account owner's list of orders
-- ARGV[1] symbol whose journal the postings come from
-- ARGV[2..] postings: <sequence> <n ops> then n ops, each one of
--   add <field> <delta>    HINCRBY
--   del <field>            HDEL (an order's hold record, once the order is done)
--   release <field> <asset>   give back whatever the hold record <field> still holds, then HDEL it
--                          (a voided order: nobody but the live account knows what it held)
--   unbuy <record> <symbol> <quantity>   a buy bought quantity: its buys record and <symbol>:buying
--                          go down by it (never below what the record holds: an order placed
--                          before records were kept has none)
--   unbuy_all <record> <symbol>   a buy ended: <symbol>:buying goes down by what its record holds,
--                          and the record goes
--   unlist <order id>      a voided order leaves its owner's list (it never reached a book)
--   buys_to <record> <symbol> <remaining>   a buy was cut to <remaining>: the record becomes it and
--                          <symbol>:buying follows
-- A posting whose sequence is not above applied:<symbol> was applied before and is
-- skipped, so a redelivered batch changes nothing. Returns the postings applied.
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
    elseif op == 'del' then
      if fresh then redis.call('HDEL', KEYS[1], ARGV[i + 1]) end
      i = i + 2
    elseif op == 'release' then
      if fresh then
        local amount = tonumber(redis.call('HGET', KEYS[1], ARGV[i + 1]) or '0')
        redis.call('HINCRBY', KEYS[1], ARGV[i + 2] .. ':on_hold', -amount)
        redis.call('HINCRBY', KEYS[1], ARGV[i + 2] .. ':available', amount)
        redis.call('HDEL', KEYS[1], ARGV[i + 1])
      end
      i = i + 3
    elseif op == 'unbuy' then
      if fresh then
        local take = math.min(tonumber(ARGV[i + 3]), tonumber(redis.call('HGET', KEYS[1], ARGV[i + 1]) or '0'))
        if take > 0 then
          redis.call('HINCRBY', KEYS[1], ARGV[i + 1], -take)
          redis.call('HINCRBY', KEYS[1], ARGV[i + 2] .. ':buying', -take)
        end
      end
      i = i + 4
    elseif op == 'unbuy_all' then
      if fresh then
        local left = tonumber(redis.call('HGET', KEYS[1], ARGV[i + 1]) or '0')
        if left ~= 0 then redis.call('HINCRBY', KEYS[1], ARGV[i + 2] .. ':buying', -left) end
        redis.call('HDEL', KEYS[1], ARGV[i + 1])
      end
      i = i + 3
    elseif op == 'unlist' then
      redis.call('ZREM', KEYS[2], ARGV[i + 1])
      i = i + 2
    elseif op == 'buys_to' then
      if fresh then
        local before = redis.call('HGET', KEYS[1], ARGV[i + 1])
        if before then
          redis.call('HINCRBY', KEYS[1], ARGV[i + 2] .. ':buying', tonumber(ARGV[i + 3]) - tonumber(before))
          redis.call('HSET', KEYS[1], ARGV[i + 1], ARGV[i + 3])
        end
      end
      i = i + 4
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
