-- book_snapshot: aggregated price levels of a symbol's book and the sequence they reflect.
-- Runs atomically, so a snapshot is never half of one commit.
-- KEYS[1] seq   KEYS[2] bids   KEYS[3] asks   KEYS[4] orders hash
-- ARGV[1] depth (levels per side)
-- Returns {seq, {price, qty, price, qty, ...} bids, {...} asks}; prices are ticks.
local depth = tonumber(ARGV[1])

local function levels(key, sign)
  local out = {}
  local count = 0
  local start = 0
  local chunk = 256
  while true do
    local members = redis.call('ZRANGE', key, start, start + chunk - 1, 'WITHSCORES')
    if #members == 0 then return out end
    for j = 1, #members, 2 do
      local price = tonumber(members[j + 1]) * sign
      local order_id = string.sub(members[j], string.find(members[j], ':', 1, true) + 1)
      local state = cjson.decode(redis.call('HGET', KEYS[4], order_id))
      if count > 0 and out[#out - 1] == price then
        out[#out] = out[#out] + state['remaining_quantity']
      else
        if count == depth then return out end
        count = count + 1
        out[#out + 1] = price
        out[#out + 1] = state['remaining_quantity']
      end
    end
    start = start + chunk
  end
end

return {redis.call('GET', KEYS[1]) or '0', levels(KEYS[2], -1), levels(KEYS[3], 1)}
