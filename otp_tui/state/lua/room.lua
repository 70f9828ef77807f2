-- On a Redis Cluster, one window of a send (otp_tui.core.limits.wait_for_room): the seconds
-- until one more send fits (0 if it fits now) and the places left. Old sends are forgotten;
-- nothing is recorded. KEYS: the window's sends. ARGV: now, its budget per hour.
local now = clock()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', num(now - HOUR))
local per_hour = tonumber(ARGV[2])
local n = redis.call('ZCARD', KEYS[1])
if n < per_hour then return {'0', per_hour - n} end
local oldest = redis.call('ZRANGE', KEYS[1], n - per_hour, n - per_hour, 'WITHSCORES')
return {num(math.max(tonumber(oldest[2]) + HOUR - now, 1)), 0}
