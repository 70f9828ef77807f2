-- A scene for tests: one more wrong code, with no lock decided. KEYS: state, sends.
local s = load(KEYS[1])
s.w = s.w + 1
s.c = s.c + 1
store(KEYS[1], s)
return entry(KEYS[1], KEYS[2])
