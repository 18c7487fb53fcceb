-- sesgate.lua - every decision sesgate makes in Redis, run atomically with
-- EVALSHA. ARGV[1] names the operation; the key names come from the caller
-- (lib/schema.c builds them), so this file never assembles a key.
--
-- Quota state of one level (account, one domain, one sender) is one string
-- read and written with BITFIELD, so that a decision costs two calls per
-- level:
--   i64 #0  last:  index of the newest bucket written (0: none yet)
--   i64 #1  tat:   GCRA theoretical arrival time, microseconds
--   i64 #2  t:     the emission interval (us) tat was computed with
--   u32 #6  total: recipients in the window as of bucket `last`
--   u32 #7+i       recipients of the bucket whose index % N is i
-- It expires one window after the newest bucket was opened, so an idle
-- sender costs nothing and a busy one never more than 28 + 4 * N bytes.

local op = ARGV[1]

local function now_us()
	local t = redis.call('TIME')
	return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- Numbers to Redis as integers: tostring() would write 1.7e+15.
local function fmt(x)
	return string.format('%.0f', x)
end

-- Read a level's state and forget buckets that left the window.
-- Returns the count in the window, tat, t, and whether nothing was stored
-- yet (the first write must then set the expiry).
local function load_level(ukey, cur, n, ttl)
	local h = redis.call('BITFIELD', ukey, 'GET', 'i64', '#0',
	    'GET', 'i64', '#1', 'GET', 'i64', '#2', 'GET', 'u32', '#6')
	local last, tat, t, total = h[1], h[2], h[3], h[4]
	if last == 0 then
		return 0, tat, t, true
	end
	if cur <= last then
		return total, tat, t, false
	end
	if cur - last >= n then
		redis.call('DEL', ukey)
		total = 0
	else
		local args = { ukey }
		for b = last + 1, cur do
			args[#args + 1] = 'SET'
			args[#args + 1] = 'u32'
			args[#args + 1] = '#' .. (7 + b % n)
			args[#args + 1] = 0
		end
		local old = redis.call('BITFIELD', unpack(args))
		for i = 1, #old do
			total = total - old[i]
		end
		if total < 0 then
			total = 0
		end
	end
	-- Keep total in step with the ring, and the key alive for a window
	-- from this bucket, even when this recipient is then refused.
	redis.call('BITFIELD', ukey, 'SET', 'i64', '#0', cur, 'SET', 'i64',
	    '#1', fmt(tat), 'SET', 'i64', '#2', t, 'SET', 'u32', '#6', total)
	redis.call('PEXPIRE', ukey, ttl)
	return total, tat, t, false
end

-- Effective limits of a level: the Redis override where a field is set,
-- else the configured default (its rate given in millionths per second).
local function limits(lkey, d24, drate, dburst, overridden)
	local m = overridden and redis.call('HMGET', lkey, 'max_24h',
	    'max_rate', 'burst') or {}
	local max24 = tonumber(m[1]) or tonumber(d24)
	local rate = tonumber(m[2])
	if rate == nil then
		rate = tonumber(drate)
		if rate > 0 then
			rate = rate / 1000000
		end
	end
	local burst = tonumber(m[3]) or tonumber(dburst)
	if burst == nil or burst <= 0 then
		burst = math.max(1, math.ceil(rate > 0 and rate or 1))
	end
	return max24, rate, burst
end

if op == 'check' then
	-- KEYS: 1-4 pause (account, sender id, envelope sender, domain),
	-- 5 identities, 6 suppression entry, 7 recipient count of the
	-- message, 8 stats, 9-11 limits and 12-14 usage of the sender, its
	-- domain and the account. A key that does not apply (no message
	-- instance, no envelope sender apart from the user, no domain) is
	-- given as ARGV[23], a name under the prefix that is never used.
	local sender, sdomain = ARGV[2], ARGV[3]
	local rcpt, rdomain = ARGV[4], ARGV[5]
	local verify_sender = ARGV[6] == '1'
	local sandbox = ARGV[7] == '1'
	local max_rcpt = tonumber(ARGV[8])
	local window_ms = tonumber(ARGV[9])
	local bucket_ms = tonumber(ARGV[10])
	local n = tonumber(ARGV[11])
	local count_daily = ARGV[21] == '1'
	local msg_ttl = tonumber(ARGV[22])
	local none = ARGV[23]
	local msgkey = KEYS[7]
	local sofar = 0

	local function result(field, a, b)
		if sofar > 0 then
			redis.call('DECR', msgkey)
		end
		redis.call('HINCRBY', KEYS[8], 'policyd:' .. field, 1)
		return { field, a, b }
	end

	-- 'user' is the sender's quota identity (the SASL user name, or the
	-- envelope sender), 'sender' the envelope sender when it differs.
	local kinds = { 'account', 'user', 'sender', 'domain' }
	local pk, pkind = {}, {}
	for i = 1, 4 do
		if KEYS[i] ~= none then
			pk[#pk + 1] = KEYS[i]
			pkind[#pk] = kinds[i]
		end
	end
	local why = redis.call('MGET', unpack(pk))
	for i = 1, #pk do
		if why[i] then
			return result('paused', pkind[i], why[i])
		end
	end
	if verify_sender and sender ~= '' then
		local v = redis.call('SMISMEMBER', KEYS[5], sender, sdomain)
		if v[1] == 0 and v[2] == 0 then
			return result('unverified_sender', sender)
		end
	end
	if sandbox and rdomain ~= 'simulator.amazonses.com' then
		local v = redis.call('SMISMEMBER', KEYS[5], rcpt, rdomain)
		if v[1] == 0 and v[2] == 0 then
			return result('unverified_recipient', rcpt)
		end
	end
	local s = redis.call('HMGET', KEYS[6], 'reason', 'time')
	if s[1] then
		return result('suppressed', s[1], s[2] or '0')
	end
	-- Counted optimistically: taken back by result() when a later check
	-- refuses this recipient.
	if msgkey ~= none then
		sofar = redis.call('INCR', msgkey)
		if sofar == 1 then
			redis.call('EXPIRE', msgkey, msg_ttl)
		end
		if sofar > max_rcpt then
			return result('too_many_recipients', tostring(sofar - 1))
		end
	end

	local now = now_us()
	local cur = math.floor(now / 1000 / bucket_ms)
	local ttl = window_ms + bucket_ms
	local names = { 'sender', 'domain', 'account' }
	-- Per level state in arrays made once (tables built field by field
	-- cost more than the Redis calls around them).
	local max24, rate, burst = { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 }
	local tats, ts, fresh = { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 }
	local newtat = { false, false, false }
	-- Every level is counted, limited or not, so that usage can be read
	-- for all of them; only a limited one can refuse. Counts are checked
	-- at every level before any rate, and nothing is written for a
	-- refused recipient but the pruning of expired buckets.
	-- Overrides are rare: one EXISTS saves three HMGETs when there is
	-- none at any level.
	local overridden = redis.call('EXISTS', KEYS[9], KEYS[10],
	    KEYS[11]) > 0
	for i = 1, 3 do
		local a = 9 + i * 3
		local count
		max24[i], rate[i], burst[i] = limits(KEYS[8 + i], ARGV[a],
		    ARGV[a + 1], ARGV[a + 2], overridden)
		count, tats[i], ts[i], fresh[i] = load_level(KEYS[11 + i], cur,
		    n, ttl)
		if count_daily and max24[i] >= 0 and count + 1 > max24[i] then
			return result('quota', names[i])
		end
	end
	for i = 1, 3 do
		if rate[i] > 0 then
			local t = math.ceil(1000000 / rate[i])
			local tat = tats[i]
			-- Time owed under an earlier limit is owed in
			-- emissions: rescale it when the limit changed, so a
			-- raised rate applies at once.
			if ts[i] > 0 and ts[i] ~= t and tat > now then
				tat = now + (tat - now) * t / ts[i]
			end
			if tat < now then
				tat = now
			end
			if tat - now > t * (burst[i] - 1) then
				return result('rate', names[i])
			end
			newtat[i] = fmt(tat + t)
			ts[i] = fmt(t)
		end
	end
	-- One BITFIELD per level, its arguments strings built once: a Lua
	-- number would be formatted again for every call.
	local slot = '#' .. (7 + cur % n)
	local curs = fmt(cur)
	for i = 1, 3 do
		local ukey, nt = KEYS[11 + i], newtat[i]
		if count_daily and nt then
			redis.call('BITFIELD', ukey, 'SET', 'i64', '#0', curs,
			    'SET', 'i64', '#1', nt, 'SET', 'i64', '#2', ts[i],
			    'OVERFLOW', 'SAT', 'INCRBY', 'u32', '#6', '1',
			    'INCRBY', 'u32', slot, '1')
		elseif count_daily then
			redis.call('BITFIELD', ukey, 'SET', 'i64', '#0', curs,
			    'OVERFLOW', 'SAT', 'INCRBY', 'u32', '#6', '1',
			    'INCRBY', 'u32', slot, '1')
		elseif nt then
			redis.call('BITFIELD', ukey, 'SET', 'i64', '#0', curs,
			    'SET', 'i64', '#1', nt, 'SET', 'i64', '#2', ts[i])
		end
		if fresh[i] and (count_daily or nt) then
			redis.call('PEXPIRE', ukey, ttl)
		end
	end
	redis.call('HINCRBY', KEYS[8], 'policyd:accept', 1)
	return { 'accept', tostring(sofar) }

elseif op == 'usage' then
	-- KEYS: limits, usage. ARGV: op, bucket_ms, n.
	-- Returns { recipients in the window, tat (us) }; writes nothing.
	local bucket_ms, n = tonumber(ARGV[2]), tonumber(ARGV[3])
	local cur = math.floor(now_us() / 1000 / bucket_ms)
	local h = redis.call('BITFIELD_RO', KEYS[2], 'GET', 'i64', '#0',
	    'GET', 'i64', '#1', 'GET', 'u32', '#6')
	local last, tat, c = h[1], h[2], h[3]
	if last == 0 or cur - last >= n then
		c = 0
	elseif cur > last then
		local args = { KEYS[2] }
		for b = last + 1, cur do
			args[#args + 1] = 'GET'
			args[#args + 1] = 'u32'
			args[#args + 1] = '#' .. (7 + b % n)
		end
		local old = redis.call('BITFIELD_RO', unpack(args))
		for i = 1, #old do
			c = c - old[i]
		end
	end
	return { math.max(c, 0), fmt(tat) }

elseif op == 'suppress' then
	-- KEYS: entry hash, index zset. ARGV: op, member, time, expires
	-- (unix seconds, 0 for never), then field, value pairs.
	local member, t, exp = ARGV[2], ARGV[3], tonumber(ARGV[4])
	redis.call('DEL', KEYS[1])
	local args = { KEYS[1], 'time', t }
	for i = 5, #ARGV, 2 do
		if ARGV[i + 1] ~= '' then
			args[#args + 1] = ARGV[i]
			args[#args + 1] = ARGV[i + 1]
		end
	end
	if exp > 0 then
		args[#args + 1] = 'expires'
		args[#args + 1] = ARGV[4]
	end
	redis.call('HSET', unpack(args))
	if exp > 0 then
		redis.call('EXPIREAT', KEYS[1], exp)
	end
	redis.call('ZADD', KEYS[2], t, member)
	return 1

elseif op == 'unsuppress' then
	-- KEYS: entry hash, index zset. ARGV: op, member.
	local n = redis.call('DEL', KEYS[1])
	redis.call('ZREM', KEYS[2], ARGV[2])
	return n
end

return redis.error_reply('sesgate.lua: unknown operation ' .. tostring(op))
