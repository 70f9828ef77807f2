-- The benchmark's floor under one check-and-record: the least a server-side script can do that
-- keeps a count on the address's own key. It reads the counts and writes them back, deciding
-- nothing, and answers one number. KEYS: the address's state.
redis.call('HMGET', KEYS[1], 'w', 'c', 'u', 't')
redis.call('HSET', KEYS[1], 'w', 1, 'c', 1, 'u', '0')
return 1
