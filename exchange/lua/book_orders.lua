-- book_orders: every resting order of a symbol's book and the sequence they reflect, read
-- atomically (never half of one commit). Its cost grows with the orders resting: it serves
-- the book's state hash (GET /api/v1/book/{symbol}/hash), not the hot path.
-- KEYS[1] seq   KEYS[2] bids   KEYS[3] asks   KEYS[4] orders hash
-- Returns {seq, bids, asks}; each side best first as {member, state, member, state, ...}, where a
-- member is "<priority, 15 digits>:<order id>" (orderbook/commit_batch.py) and a state is the
-- order's stored JSON ('' if it is missing).
local function side(book_key)
  local out = {}
  for _, member in ipairs(redis.call('ZRANGE', book_key, 0, -1)) do
    out[#out + 1] = member
    out[#out + 1] = redis.call('HGET', KEYS[4], string.sub(member, 17)) or ''
  end
  return out
end
return {redis.call('GET', KEYS[1]) or '0', side(KEYS[2]), side(KEYS[3])}
