-- The head of every otp-tui ledger script (the loader puts it before each script's body).
-- Every call of every script runs it, so it only defines things; what they do is paid only by
-- the scripts that use them.
local HOUR = 3600
-- "Now": a test's clock (ARGV[1]), else the server's TIME, asked the first time a decision
-- needs it. A guess or a success on an address with no lock, past or present, needs none.
local known_now = tonumber(ARGV[1])  -- nil for '' (the server's clock)
local function clock()
  if not known_now then
    local t = redis.call('TIME')
    known_now = tonumber(t[1]) + tonumber(t[2]) / 1000000
  end
  return known_now
end
-- Numbers written with 17 digits, which read back as the very same double (Lua's own tostring
-- keeps 14).
local function num(x)
  if x == math.huge then return 'inf' end
  return string.format('%.17g', x)
end
local function parse(x)
  if x == 'inf' then return math.huge end
  return tonumber(x)
end
-- One address's guess counts (otp_tui.core.limits.GuessCounts): w wrong codes, c consecutive
-- failures, u locked until (seconds, or "inf"; 0 or absent for no lock, a time before any
-- clock), t the token of the guess that set the lock off.
local function load(key)
  local v = redis.call('HMGET', key, 'w', 'c', 'u', 't')
  -- What the hash holds as it is (w0, c0, t0), so that `store` sends only what changes
  -- something. Every write sets w, c and u together: the hash exists when w does.
  local w, c = tonumber(v[1] or '0'), tonumber(v[2] or '0')
  return {w = w, c = c, u = parse(v[3] or '0'), t = v[4], w0 = v[1] and w, c0 = c, t0 = v[4]}
end
local function write(key, s)
  local u = s.u == 0 and '0' or num(s.u)
  if s.t == s.t0 then  -- the token as it was: not written again
    redis.call('HSET', key, 'w', s.w, 'c', s.c, 'u', u)
  elseif s.t then
    redis.call('HSET', key, 'w', s.w, 'c', s.c, 'u', u, 't', s.t)
  else
    redis.call('HSET', key, 'w', s.w, 'c', s.c, 'u', u)
    redis.call('HDEL', key, 't')
  end
end
local function store(key, s)
  local counts = s.w ~= 0 or s.c ~= 0
  if not counts and (s.u == 0 or s.u <= clock()) then
    -- Nothing left that counts. A lock that ended is kept a minute (the clock may step back).
    if s.u > 0 then
      write(key, s)
      redis.call('EXPIRE', key, 60)
    elseif s.w0 then
      redis.call('DEL', key)
    end
    return
  end
  write(key, s)
  -- Only a hash whose counts are zero is ever given a time to live.
  if not counts and s.u - clock() < 1e9 then  -- beyond ~30 years: as good as forever
    redis.call('EXPIRE', key, math.ceil(s.u - clock()) + 60)
  elseif s.w0 == 0 and s.c0 == 0 then  -- it may have had one: it counts again
    redis.call('PERSIST', key)
  end
end
local function sends(key)
  return redis.call('ZCOUNT', key, '(' .. num(clock() - HOUR), '+inf')
end
local function entry(state_key, sends_key)
  local s = load(state_key)
  return {sends(sends_key), s.w, s.c, num(math.max(0, s.u - clock()))}
end
