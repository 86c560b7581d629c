-- wrk script for bench/http_orders.py: the issue's flow of random limit orders around one price.
-- Each request is a limit order from a random user (TOKENS, comma-separated) on a random symbol
-- (SYMBOLS, comma-separated), a random side, a price within 5 ticks of 10.00 and 1 to 10 shares,
-- so about half the orders trade and the rest rest on the book, as in a live market.
local tokens = {}
for token in string.gmatch(os.getenv("TOKENS") or "", "[^,]+") do
  tokens[#tokens + 1] = token
end
local symbols = {}
for symbol in string.gmatch(os.getenv("SYMBOLS") or "KRYP,ADAM,PUPS", "[^,]+") do
  symbols[#symbols + 1] = symbol
end

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  -- Each thread its own sequence; the same seed for a thread in every run.
  math.randomseed(7919 * (thread_number or 1))
end

request = function()
  local side = (math.random(2) == 1) and "buy" or "sell"
  local cents = 1000 + math.random(-5, 5)
  local body = string.format('{"symbol":"%s","side":"%s","price":"%d.%02d","quantity":%d}',
    symbols[math.random(#symbols)], side, math.floor(cents / 100), cents % 100, math.random(10))
  return wrk.format("POST", "/api/v1/orders",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]}, body)
end
