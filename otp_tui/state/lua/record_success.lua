-- otp_tui.core.limits.after_success on the address's counts.
-- KEYS: the address's state. ARGV: now, token ('' for none).
local s = load(KEYS[1])
s.w = 0
s.c = 0
if ARGV[2] ~= '' and s.t == ARGV[2] then
  s.u = 0
  s.t = false
end
store(KEYS[1], s)
return 1
