-- A scene for tests: a lock set by something else than a guess (no token lifts it).
-- KEYS: state. ARGV: now, seconds.
local s = load(KEYS[1])
s.u = math.max(s.u, clock() + parse(ARGV[2]))
s.w = 0
s.t = false
store(KEYS[1], s)
return 1
