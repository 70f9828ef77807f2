-- The operator's override: the address's counts and lock are gone. KEYS: its state.
redis.call('DEL', KEYS[1])
return 1
