-- resting_orders: every order resting in a symbol's book, the sequence the book is at,
-- and the id of the journal entry that sequence was written with, read atomically.
-- A reader that keeps its own copy of the book (the web tier) starts from this and
-- reads the journal on from exactly that entry.
-- KEYS[1] seq   KEYS[2] bids   KEYS[3] asks   KEYS[4] orders hash   KEYS[5] events (journal)
-- Returns {seq, last journal id ('0-0' when the journal is empty),
--          {order_id, side, price, remaining, order_id, side, ...}}; prices are ticks.
local out = {}

local function collect(key, side, sign)
  local start = 0
  local chunk = 512
  while true do
    local members = redis.call('ZRANGE', key, start, start + chunk - 1, 'WITHSCORES')
    if #members == 0 then return end
    for j = 1, #members, 2 do
      local order_id = string.sub(members[j], string.find(members[j], ':', 1, true) + 1)
      local state = cjson.decode(redis.call('HGET', KEYS[4], order_id))
      out[#out + 1] = order_id
      out[#out + 1] = side
      out[#out + 1] = tostring(tonumber(members[j + 1]) * sign)
      out[#out + 1] = tostring(state['remaining_quantity'])
    end
    start = start + chunk
  end
end

collect(KEYS[2], 'buy', -1)
collect(KEYS[3], 'sell', 1)
local last = redis.call('XREVRANGE', KEYS[5], '+', '-', 'COUNT', 1)
local last_id = '0-0'
if #last > 0 then last_id = last[1][1] end
return {redis.call('GET', KEYS[1]) or '0', last_id, out}
