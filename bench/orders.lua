-- wrk script for bench/http_orders.py and bench/scale.py: a crossing flow of limit orders at one price.
-- Consecutive requests alternate buy and sell on one symbol, then move to the next of SYMBOLS
-- (comma-separated; KRYP by default), and rotate through the tokens in TOKENS (comma-separated),
-- so every other order trades.
local tokens = {}
for token in string.gmatch(os.getenv("TOKENS") or "", "[^,]+") do
  tokens[#tokens + 1] = token
end
local symbols = {}
for symbol in string.gmatch(os.getenv("SYMBOLS") or "KRYP", "[^,]+") do
  symbols[#symbols + 1] = symbol
end
local counter = 0

request = function()
  counter = counter + 1
  local side = (counter % 2 == 0) and "buy" or "sell"
  local token = tokens[(counter % #tokens) + 1]
  local symbol = symbols[(math.floor(counter / 2) % #symbols) + 1]
  local body = '{"symbol":"' .. symbol .. '","side":"' .. side .. '","price":"10.00","quantity":1}'
  return wrk.format("POST", "/api/v1/orders",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
