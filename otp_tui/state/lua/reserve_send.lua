-- otp_tui.core.limits.wait_for_send, then the send recorded in every window if it fits.
-- KEYS: the address's sends, then each shared budget's. ARGV: now, a member name unique to this
-- send, then each key's budget per hour in the same order.
local now = clock()
local hour_ago, stamp = num(now - HOUR), num(now)
local wait = 0
for i, key in ipairs(KEYS) do
  -- Sends an hour old no longer count; one stamped in the future (the clock went back) does.
  redis.call('ZREMRANGEBYSCORE', key, '-inf', hour_ago)
  local per_hour = tonumber(ARGV[i + 2])
  local n = redis.call('ZCARD', key)
  if n >= per_hour then
    -- The send that must age out before another fits: the per_hour-th newest.
    local oldest = redis.call('ZRANGE', key, n - per_hour, n - per_hour, 'WITHSCORES')
    wait = math.max(wait, math.max(tonumber(oldest[2]) + HOUR - now, 1))
  end
end
if wait > 0 then return num(wait) end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, stamp, ARGV[2])
  redis.call('EXPIRE', key, HOUR + 60)
end
return '0'
