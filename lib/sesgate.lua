-- sesgate.lua - every decision sesgate makes in Redis, run atomically with
-- EVALSHA. ARGV[1] names the operation; the key names come from the caller
-- (lib/schema.c builds them), so this file never assembles a key.
--
-- Quota state of one level (account, one domain, one sender):
--   usage hash:  total = recipients in the window as of bucket `last`,
--                last  = index of the newest bucket written,
--                tat   = GCRA theoretical arrival time, microseconds
--   ring string: N unsigned 32-bit counters, one per bucket, slot = index % N
-- Both expire one window after the last write, so an idle sender costs
-- nothing and a busy one never more than 4 * N bytes of ring.

local op = ARGV[1]

local function now_us()
	local t = redis.call('TIME')
	return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- Read a level's state and forget buckets that left the window.
-- Returns the count in the window, tat, and whether the newest bucket
-- moved on since the last write (so the expiry must be pushed back).
local function load_level(ukey, rkey, cur, n)
	local m = redis.call('HMGET', ukey, 'total', 'last', 'tat')
	local total = tonumber(m[1]) or 0
	local last = tonumber(m[2])
	local tat = tonumber(m[3]) or 0
	if last == nil then
		return 0, tat, true
	end
	if cur <= last then
		return total, tat, false
	end
	if cur - last >= n then
		redis.call('DEL', rkey)
		total = 0
	else
		local args = { rkey }
		for b = last + 1, cur do
			args[#args + 1] = 'SET'
			args[#args + 1] = 'u32'
			args[#args + 1] = '#' .. (b % n)
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
	-- The ring was just changed: keep total in step with it even when
	-- this recipient is then refused.
	redis.call('HSET', ukey, 'total', total, 'last', cur)
	return total, tat, true
end

-- Effective limits of a level: the Redis override where a field is set,
-- else the configured default.
local function limits(lkey, d24, drate, dburst)
	local m = redis.call('HMGET', lkey, 'max_24h', 'max_rate', 'burst')
	local max24 = tonumber(m[1]) or tonumber(d24)
	local rate = tonumber(m[2]) or tonumber(drate)
	local burst = tonumber(m[3]) or tonumber(dburst)
	if burst == nil or burst <= 0 then
		burst = math.max(1, math.ceil(rate > 0 and rate or 1))
	end
	return max24, rate, burst
end

local function fmt(x)
	return string.format('%.0f', x)
end

if op == 'check' then
	-- KEYS: 1-4 pause (account, sender id, envelope sender, domain),
	-- 5 identities, 6 suppression entry, 7 recipient count of the
	-- message ('' when unknown), 8 stats, then per level (sender,
	-- domain, account) limits, usage, ring: 9-11, 12-14, 15-17.
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
	local stats = KEYS[8]

	local function result(field, a, b)
		redis.call('HINCRBY', stats, 'policyd:' .. field, 1)
		return { field, a, b }
	end

	local kinds = { 'account', 'sender', 'sender', 'domain' }
	local pk, pkind = {}, {}
	for i = 1, 4 do
		if KEYS[i] ~= '' then
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
	local sofar = 0
	if KEYS[7] ~= '' then
		sofar = tonumber(redis.call('GET', KEYS[7])) or 0
		if sofar >= max_rcpt then
			return result('too_many_recipients', tostring(sofar))
		end
	end

	local now = now_us()
	local cur = math.floor(now / 1000 / bucket_ms)
	local names = { 'sender', 'domain', 'account' }
	local lv = {}
	-- Every level is counted, limited or not, so that usage can be read
	-- for all of them; only a limited one can refuse. Counts are checked
	-- at every level before any rate, and nothing is written for a
	-- refused recipient but the pruning of expired buckets.
	for i = 1, 3 do
		local k = 9 + (i - 1) * 3
		local a = 12 + (i - 1) * 3
		local max24, rate, burst = limits(KEYS[k], ARGV[a],
		    ARGV[a + 1], ARGV[a + 2])
		local l = { ukey = KEYS[k + 1], rkey = KEYS[k + 2],
		    max24 = max24, rate = rate, burst = burst }
		l.count, l.tat, l.moved = load_level(l.ukey, l.rkey, cur, n)
		lv[i] = l
		if count_daily and max24 >= 0 and l.count + 1 > max24 then
			return result('quota', names[i])
		end
	end
	for i = 1, 3 do
		local l = lv[i]
		if l.rate > 0 then
			local t = math.ceil(1000000 / l.rate)
			local tat = l.tat
			if tat < now then
				tat = now
			end
			if tat - now > t * (l.burst - 1) then
				return result('rate', names[i])
			end
			l.newtat = tat + t
		end
	end
	local ttl = window_ms + bucket_ms
	for i = 1, 3 do
		local l = lv[i]
		if count_daily then
			redis.call('BITFIELD', l.rkey, 'OVERFLOW', 'SAT',
			    'INCRBY', 'u32', '#' .. (cur % n), 1)
			if l.newtat then
				redis.call('HSET', l.ukey, 'total', l.count + 1,
				    'last', cur, 'tat', fmt(l.newtat))
			else
				redis.call('HSET', l.ukey, 'total', l.count + 1,
				    'last', cur)
			end
			if l.moved then
				redis.call('PEXPIRE', l.rkey, ttl)
			end
		elseif l.newtat then
			redis.call('HSET', l.ukey, 'tat', fmt(l.newtat))
		end
		-- The rate state must outlive a burst's worth of time too.
		if l.moved or not count_daily then
			redis.call('PEXPIRE', l.ukey, ttl)
		end
	end
	if KEYS[7] ~= '' then
		redis.call('SET', KEYS[7], sofar + 1, 'EX', msg_ttl)
	end
	return result('accept', tostring(sofar + 1))

elseif op == 'usage' then
	-- KEYS: limits, usage, ring. ARGV: op, bucket_ms, n.
	-- Returns { recipients in the window, tat (us) }; writes nothing.
	local bucket_ms, n = tonumber(ARGV[2]), tonumber(ARGV[3])
	local cur = math.floor(now_us() / 1000 / bucket_ms)
	local m = redis.call('HMGET', KEYS[2], 'total', 'last', 'tat')
	local last = tonumber(m[2])
	local c = 0
	if last ~= nil and cur - last < n then
		c = tonumber(m[1]) or 0
		if cur > last then
			local args = { KEYS[3] }
			for b = last + 1, cur do
				args[#args + 1] = 'GET'
				args[#args + 1] = 'u32'
				args[#args + 1] = '#' .. (b % n)
			end
			local old = redis.call('BITFIELD_RO', unpack(args))
			for i = 1, #old do
				c = c - old[i]
			end
		end
	end
	return { math.max(c, 0), m[3] or '0' }

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
