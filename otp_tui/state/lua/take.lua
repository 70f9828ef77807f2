-- On a Redis Cluster, one window's place for a send, taken if there is room (never beyond its
-- budget): 0 when taken, else the seconds until a place frees.
-- KEYS: the window's sends. ARGV: now, a member name unique to this send, its budget per hour.
local now = clock()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', num(now - HOUR))
local per_hour = tonumber(ARGV[3])
local n = redis.call('ZCARD', KEYS[1])
if n >= per_hour then
  local oldest = redis.call('ZRANGE', KEYS[1], n - per_hour, n - per_hour, 'WITHSCORES')
  return num(math.max(tonumber(oldest[2]) + HOUR - now, 1))
end
redis.call('ZADD', KEYS[1], num(now), ARGV[2])
redis.call('EXPIRE', KEYS[1], HOUR + 60)
return '0'
