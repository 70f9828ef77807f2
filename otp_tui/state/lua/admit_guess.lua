-- otp_tui.core.limits.judge_guess on the address's counts.
-- KEYS: the address's state. ARGV: now, max_attempts, lockout, max_consecutive_failures, token.
-- The answer, as small as it can be: the attempts left (a number) for a guess admitted that
-- set off no lock; the lock it set off (a string: seconds or "inf") for one that did; for a
-- guess refused, the time left on the lock (a list of one string).
local s = load(KEYS[1])
if s.u ~= 0 and s.u - clock() > 0 then return {num(s.u - clock())} end
s.w = s.w + 1
s.c = s.c + 1
local left = math.max(0, tonumber(ARGV[2]) - s.w)
local lock
if s.c >= tonumber(ARGV[4]) then
  lock = math.huge
elseif left == 0 then
  lock = parse(ARGV[3])
end
if not lock then
  store(KEYS[1], s)
  return left
end
s.u = math.max(s.u, clock() + lock)
s.w = 0
s.t = ARGV[5]
store(KEYS[1], s)
return num(lock)
