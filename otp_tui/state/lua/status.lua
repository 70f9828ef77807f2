-- KEYS: the address's state, its sends. ARGV: now.
return entry(KEYS[1], KEYS[2])
