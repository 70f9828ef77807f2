-- The head of every otp-tui ledger script (the loader puts it before each script's body).
-- "now" from a test's clock (ARGV[1]) or the server's TIME, and numbers written with 17 digits,
-- which read back as the very same double (Lua's own tostring keeps 14).
local HOUR = 3600
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function num(x)
  if x == math.huge then return 'inf' end
  return string.format('%.17g', x)
end
local function parse(x)
  if x == 'inf' then return math.huge end
  return tonumber(x)
end
-- One address's guess counts (otp_tui.core.limits.GuessCounts): w wrong codes, c consecutive
-- failures, u locked until (seconds, or "inf"), t the token of the guess that set the lock off.
local function load(key)
  local v = redis.call('HMGET', key, 'w', 'c', 'u', 't')
  local s = {w = tonumber(v[1] or '0'), c = tonumber(v[2] or '0'),
             u = parse(v[3] or '0'), t = v[4] or false}
  -- What the hash holds as it is, so that `store` sends only commands that change something.
  -- Every write sets w, c and u together, and only a hash whose counts are zero is ever given
  -- a time to live (`store` drops it whenever the counts are not zero).
  s.exists = v[1] ~= false
  s.had_t = v[4] ~= false
  s.may_expire = s.exists and s.w == 0 and s.c == 0
  return s
end
local function write(key, s)
  if s.t then
    redis.call('HSET', key, 'w', s.w, 'c', s.c, 'u', num(s.u), 't', s.t)
  else
    redis.call('HSET', key, 'w', s.w, 'c', s.c, 'u', num(s.u))
    if s.had_t then redis.call('HDEL', key, 't') end
  end
end
local function store(key, s)
  if s.w == 0 and s.c == 0 and s.u <= now then
    -- Nothing left that counts. A lock that ended is kept a minute (the clock may step back).
    if s.u > 0 then
      write(key, s)
      redis.call('EXPIRE', key, 60)
    elseif s.exists then
      redis.call('DEL', key)
    end
    return
  end
  write(key, s)
  if s.w == 0 and s.c == 0 and s.u - now < 1e9 then  -- beyond ~30 years: as good as forever
    redis.call('EXPIRE', key, math.ceil(s.u - now) + 60)
  elseif s.may_expire then
    redis.call('PERSIST', key)
  end
end
local function sends(key)
  return redis.call('ZCOUNT', key, '(' .. num(now - HOUR), '+inf')
end
local function entry(state_key, sends_key)
  local s = load(state_key)
  return {sends(sends_key), s.w, s.c, num(math.max(0, s.u - now))}
end
