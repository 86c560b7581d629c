-- book_snapshot: the best price levels of a symbol's book and the sequence they reflect.
-- Reads the level totals the matcher keeps beside the orders (commit_batch.lua's D ops),
-- so its cost grows with the depth asked, never with the number of orders resting.
-- Runs atomically, so a snapshot is never half of one commit.
-- KEYS[1] seq   KEYS[2] bid levels   KEYS[3] ask levels   KEYS[4] bid depth   KEYS[5] ask depth
-- ARGV[1] depth (levels per side)
-- Returns {seq, {price, qty, price, qty, ...} bids, {...} asks}; prices are ticks, best first.
local depth = tonumber(ARGV[1])

local function levels(levels_key, depth_key)
  local prices = redis.call('ZRANGE', levels_key, 0, depth - 1)
  if #prices == 0 then return {} end
  local totals = redis.call('HMGET', depth_key, unpack(prices))
  local out = {}
  for j = 1, #prices do
    out[#out + 1] = prices[j]
    out[#out + 1] = totals[j]
  end
  return out
end

return {redis.call('GET', KEYS[1]) or '0', levels(KEYS[2], KEYS[4]), levels(KEYS[3], KEYS[5])}
