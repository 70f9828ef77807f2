-- For tests: the sends of the last hour counted against a shared budget. KEYS: its sends.
return sends(KEYS[1])
