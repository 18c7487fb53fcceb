-- sesgate.lua - every decision sesgate makes in Redis, run atomically with
-- EVALSHA. ARGV[1] names the operation; the key names come from the caller
-- (lib/schema.c builds them), so this file never assembles a key.
--
-- Quota state of one level (account, one domain, one sender) is one string
-- read and written with BITFIELD, so that a batch of decisions costs two
-- calls per level it touches:
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

-- Numbers to Redis as integers: tostring() would write 1.7e+15, and
-- '%.0f' costs a multi-precision conversion for numbers this large.
local function fmt(x)
	return string.format('%d', x)
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

-- Effective limits { max_24h, rate, burst }: the fields of a limits hash
-- where set, else the configured ones in conf; a burst of 0 or less
-- means one second's worth at the rate (at least 1).
local function limits(m24, mrate, mburst, conf)
	local max24 = tonumber(m24) or conf[1]
	local rate = tonumber(mrate) or conf[2]
	local burst = tonumber(mburst) or conf[3]
	if burst == nil or burst <= 0 then
		burst = math.max(1, math.ceil(rate > 0 and rate or 1))
	end
	return { max24, rate, burst }
end

-- The check operation decides a batch of recipients, in order, each as if
-- it were alone and after the ones before it: what the batch reads only
-- (pauses, identities, suppressions, overrides) is read once for all of
-- it, and what it counts (quota state, statistics) is kept here and
-- written once at the end.
local NKEYS, NARGS, NCONST = 13, 6, 17

if op == 'check' then
	-- ARGV: 2 verify the sender, 3 sandbox, 4 recipients per message,
	-- 5 window (ms), 6 bucket (ms), 7 buckets, 8-16 the default limits
	-- (24 h count, rate in millionths per second, burst) of the sender,
	-- the domain and the account, 17 the name given for a key that does
	-- not apply. Then for each recipient: sender, its domain, recipient,
	-- its domain, whether it counts towards the 24 h quota, and the
	-- recipients of its message accepted so far (-1: not counted; the
	-- daemon counts them, as Postfix sends every request about one
	-- message on one connection).
	-- KEYS, for each recipient: 1-4 pause (account, sender id, envelope
	-- sender, domain), 5 identities, 6 suppression entry, 7 stats, 8-10
	-- limits and 11-13 usage of the sender, its domain and the account.
	local nd = #KEYS / NKEYS
	if nd < 1 or nd ~= math.floor(nd) or #ARGV ~= NCONST + NARGS * nd then
		return redis.error_reply('sesgate.lua: check: ' .. #KEYS ..
		    ' keys and ' .. #ARGV .. ' arguments do not match')
	end
	local verify_sender = ARGV[2] == '1'
	local sandbox = ARGV[3] == '1'
	local max_rcpt = tonumber(ARGV[4])
	local window_ms = tonumber(ARGV[5])
	local bucket_ms = tonumber(ARGV[6])
	local n = tonumber(ARGV[7])
	local none = ARGV[17]

	-- The distinct keys at offsets from..to of every recipient, `none`
	-- left out, appended to list.
	local function distinct(from, to, list)
		local seen = {}
		for d = 0, nd - 1 do
			for at = d * NKEYS + from, d * NKEYS + to do
				local k = KEYS[at]
				if k ~= none and not seen[k] then
					seen[k] = true
					list[#list + 1] = k
				end
			end
		end
		return list
	end

	local paused = {}
	local pk = distinct(1, 4, {})
	local v = redis.call('MGET', unpack(pk))
	for i = 1, #pk do
		if v[i] then
			paused[pk[i]] = v[i]
		end
	end

	local verified, ask, asked = {}, {}, {}
	local function want(m)
		if not asked[m] then
			asked[m] = true
			ask[#ask + 1] = m
		end
	end
	for d = 0, nd - 1 do
		local a = NCONST + d * NARGS
		if verify_sender and ARGV[a + 1] ~= '' then
			want(ARGV[a + 1])
			want(ARGV[a + 2])
		end
		if sandbox and ARGV[a + 4] ~= 'simulator.amazonses.com' then
			want(ARGV[a + 3])
			want(ARGV[a + 4])
		end
	end
	if #ask > 0 then
		-- One prefix, so one identities key, for the whole batch.
		v = redis.call('SMISMEMBER', KEYS[5], unpack(ask))
		for i = 1, #ask do
			verified[ask[i]] = v[i] == 1
		end
	end

	-- Suppressed recipients and limits set in Redis are rare: one EXISTS
	-- for the batch tells whether there is any of either.
	local sk = distinct(6, 6, {})
	local nsk = #sk
	local rare = redis.call('EXISTS', unpack(distinct(8, 10, sk)))
	local any_suppressed, overridden = false, false
	if rare > 0 then
		local ns = redis.call('EXISTS', unpack(sk, 1, nsk))
		any_suppressed, overridden = ns > 0, rare > ns
	end
	local suppressed = {}
	-- The configured limits of each level (rate given in millionths per
	-- second), and what they come to without an override.
	local conf, defaults = {}, {}
	for i = 1, 3 do
		local c = 5 + i * 3
		local rate = tonumber(ARGV[c + 1])
		if rate > 0 then
			rate = rate / 1000000
		end
		conf[i] = { tonumber(ARGV[c]), rate, tonumber(ARGV[c + 2]) }
		defaults[i] = limits(nil, nil, nil, conf[i])
	end

	local now = now_us()
	local cur = math.floor(now / 1000 / bucket_ms)
	local ttl = window_ms + bucket_ms
	local names = { 'sender', 'domain', 'account' }
	-- Limits by limits key; quota state by usage key: { count, tat, t,
	-- fresh, recipients added, tat changed }.
	local lims, states, state_order = {}, {}, {}
	local stats, stat_order = {}, {}
	local results = {}
	local lv, sv = { 0, 0, 0 }, { 0, 0, 0 }
	local newtat, newt = { false, false, false }, { 0, 0, 0 }

	-- 'user' is the sender's quota identity (the SASL user name, or the
	-- envelope sender), 'sender' the envelope sender when it differs.
	local kinds = { 'account', 'user', 'sender', 'domain' }

	local function decide(d)
		local k, a = d * NKEYS, NCONST + d * NARGS
		local sender, sdomain = ARGV[a + 1], ARGV[a + 2]
		local rcpt, rdomain = ARGV[a + 3], ARGV[a + 4]
		local count_daily = ARGV[a + 5] == '1'
		local sofar = tonumber(ARGV[a + 6])

		for i = 1, 4 do
			local why = paused[KEYS[k + i]]
			if why then
				return 'paused', kinds[i], why
			end
		end
		if verify_sender and sender ~= '' and not verified[sender] and
		    not verified[sdomain] then
			return 'unverified_sender', sender
		end
		if sandbox and rdomain ~= 'simulator.amazonses.com' and
		    not verified[rcpt] and not verified[rdomain] then
			return 'unverified_recipient', rcpt
		end
		if any_suppressed then
			local skey = KEYS[k + 6]
			local s = suppressed[skey]
			if s == nil then
				s = redis.call('HMGET', skey, 'reason', 'time')
				suppressed[skey] = s
			end
			if s[1] then
				return 'suppressed', s[1], s[2] or '0'
			end
		end
		if sofar >= max_rcpt then
			return 'too_many_recipients', tostring(sofar)
		end

		-- Every level is counted, limited or not, so that usage can be
		-- read for all of them; only a limited one can refuse. Counts
		-- are checked at every level before any rate, and nothing is
		-- kept for a refused recipient.
		for i = 1, 3 do
			local lkey, ukey = KEYS[k + 7 + i], KEYS[k + 10 + i]
			local l = lims[lkey]
			if l == nil then
				l = defaults[i]
				if overridden then
					local m = redis.call('HMGET', lkey,
					    'max_24h', 'max_rate', 'burst')
					l = limits(m[1], m[2], m[3], conf[i])
				end
				lims[lkey] = l
			end
			local s = states[ukey]
			if s == nil then
				local count, tat, t, fresh = load_level(ukey,
				    cur, n, ttl)
				s = { count, tat, t, fresh, 0, false }
				states[ukey] = s
				state_order[#state_order + 1] = ukey
			end
			lv[i], sv[i] = l, s
			if count_daily and l[1] >= 0 and s[1] + 1 > l[1] then
				return 'quota', names[i]
			end
		end
		for i = 1, 3 do
			local rate, burst, s = lv[i][2], lv[i][3], sv[i]
			newtat[i] = false
			if rate > 0 then
				local t = math.ceil(1000000 / rate)
				local tat = s[2]
				-- Time owed under an earlier limit is owed in
				-- emissions: rescale it when the limit changed,
				-- so a raised rate applies at once.
				if s[3] > 0 and s[3] ~= t and tat > now then
					tat = now + (tat - now) * t / s[3]
				end
				if tat < now then
					tat = now
				end
				if tat - now > t * (burst - 1) then
					return 'rate', names[i]
				end
				newtat[i], newt[i] = tat + t, t
			end
		end
		for i = 1, 3 do
			local s = sv[i]
			if count_daily then
				s[1] = s[1] + 1
				s[5] = s[5] + 1
			end
			if newtat[i] then
				s[2], s[3], s[6] = newtat[i], newt[i], true
			end
		end
		return 'accept', tostring(sofar + 1)
	end

	for d = 0, nd - 1 do
		-- A key of the wrong type fails the recipients that use it,
		-- not the whole batch.
		local ok, field, x, y = pcall(decide, d)
		if not ok then
			field, x, y = 'error', type(field) == 'table' and
			    field.err or tostring(field), nil
		else
			if not stats[field] then
				stats[field] = 0
				stat_order[#stat_order + 1] = field
			end
			stats[field] = stats[field] + 1
		end
		results[d + 1] = { field, x, y }
	end

	-- One BITFIELD per level, its arguments strings built once: a Lua
	-- number would be formatted again for every call.
	local slot = '#' .. (7 + cur % n)
	local curs = fmt(cur)
	for _, ukey in ipairs(state_order) do
		local s = states[ukey]
		local added = tostring(s[5])
		if s[5] > 0 and s[6] then
			redis.call('BITFIELD', ukey, 'SET', 'i64', '#0', curs,
			    'SET', 'i64', '#1', fmt(s[2]), 'SET', 'i64', '#2',
			    fmt(s[3]), 'OVERFLOW', 'SAT', 'INCRBY', 'u32', '#6',
			    added, 'INCRBY', 'u32', slot, added)
		elseif s[5] > 0 then
			redis.call('BITFIELD', ukey, 'SET', 'i64', '#0', curs,
			    'OVERFLOW', 'SAT', 'INCRBY', 'u32', '#6', added,
			    'INCRBY', 'u32', slot, added)
		elseif s[6] then
			redis.call('BITFIELD', ukey, 'SET', 'i64', '#0', curs,
			    'SET', 'i64', '#1', fmt(s[2]), 'SET', 'i64', '#2',
			    fmt(s[3]))
		end
		if s[4] and (s[5] > 0 or s[6]) then
			redis.call('PEXPIRE', ukey, ttl)
		end
	end
	for _, f in ipairs(stat_order) do
		redis.call('HINCRBY', KEYS[7], 'policyd:' .. f, stats[f])
	end
	return results

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

elseif op == 'feedback' then
	-- KEYS: the message's seen key, then counter hashes. ARGV: op, the
	-- seen key's lifetime (ms), then for each counter hash a field and
	-- an increment. Counts once per message: 0 when it was seen.
	-- (Counter hashes: the statistics, then the account's, sender's and
	-- domain's SES event counters.)
	if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[2]) == false then
		return 0
	end
	for i = 2, #KEYS do
		redis.call('HINCRBY', KEYS[i], ARGV[2 * i - 1], ARGV[2 * i])
	end
	return 1

elseif op == 'unsuppress' then
	-- KEYS: entry hash, index zset. ARGV: op, member.
	local n = redis.call('DEL', KEYS[1])
	redis.call('ZREM', KEYS[2], ARGV[2])
	return n
end

return redis.error_reply('sesgate.lua: unknown operation ' .. tostring(op))
