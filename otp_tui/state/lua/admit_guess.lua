-- otp_tui.core.limits.judge_guess on the address's counts.
-- KEYS: the address's state. ARGV: now, max_attempts, lockout, max_consecutive_failures, token.
local s = load(KEYS[1])
if s.u - now > 0 then return {'refused', 0, num(s.u - now)} end
s.w = s.w + 1
s.c = s.c + 1
local left = math.max(0, tonumber(ARGV[2]) - s.w)
local lock = false
if s.c >= tonumber(ARGV[4]) then
  lock = math.huge
elseif left == 0 then
  lock = parse(ARGV[3])
end
if lock then
  s.u = math.max(s.u, now + lock)
  s.w = 0
  s.t = ARGV[5]
  left = 0
end
store(KEYS[1], s)
if lock then return {'admitted', left, num(lock)} end
return {'admitted', left, ''}
