-- Test helper for test_ticker_crash.py: stamp a trade with the accelerated clock and append it
-- to the journal in one step, as the matcher's commit does, so no close can fall in between.
-- KEYS[1] journal   ARGV[1] clock origin ms   ARGV[2] speed   ARGV[3] sequence   ARGV[4] price   ARGV[5] quantity
-- ARGV[6] symbol
-- Returns the trade's time (ms). The event is a whole journal trade (exchange.journal.TradeEvent), so
-- the ticker decodes it as it decodes the matcher's; only time, price and quantity matter to candles.
local t = redis.call('TIME')
local real_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local origin = tonumber(ARGV[1])
local time_ms = origin + (real_ms - origin) * tonumber(ARGV[2])
local sequence = tonumber(ARGV[3])
local event = cjson.encode({
    type = 'trade', symbol = ARGV[6], epoch = 1, sequence = sequence, time = time_ms,
    trade_id = ARGV[6] .. '-1-' .. ARGV[3], price = tonumber(ARGV[4]), quantity = tonumber(ARGV[5]),
    taker_side = 'buy', maker_order_id = 'maker', taker_order_id = 'taker', maker_user_id = 'seller',
    taker_user_id = 'buyer', maker_remaining = 0, taker_remaining = 0, buy_order_id = 'taker',
    sell_order_id = 'maker', buyer_id = 'buyer', seller_id = 'seller', buyer_fee = 0, seller_fee = 0,
    buyer_hold_used = 0})
redis.call('XADD', KEYS[1], '*', 'sequence', ARGV[3], 'event', event)
return time_ms
