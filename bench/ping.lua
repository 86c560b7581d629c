-- wrk script for bench/http_orders.py: the baseline, a small JSON POST to the ping app.
request = function()
  return wrk.format("POST", "/api/v1/ping", {["Content-Type"] = "application/json"}, '{"symbol":"KRYP"}')
end
