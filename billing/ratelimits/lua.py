"""Lua scripts run atomically inside Redis; every scope uses four keys, in KEYS order.

Per scope: ``req`` ZSET (request log, member request_id, score = Redis TIME in microseconds),
``tok`` ZSET (token reservations by time), ``tokv`` HASH (request_id -> tokens, plus the
running total in the field ``""``) and ``lease`` ZSET (request_id scored by lease expiry).
Limits arrive in ARGV as rpm, tpm, max_parallel per scope, ``-1`` meaning "no limit".
Kept as Python strings rather than .lua files so a non-editable install cannot lose them.
"""

from __future__ import annotations

_COMMON = """
local WINDOW = tonumber(ARGV[1])
local LEASE_TTL = tonumber(ARGV[2])
local RID = ARGV[3]
local EST = tonumber(ARGV[4])
local CONC_RETRY = tonumber(ARGV[5])
local N = #KEYS / 4
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000000 + tonumber(t[2])
local CUTOFF = NOW - WINDOW

-- Lua's tostring() keeps 14 digits; microsecond timestamps need 16.
local function f(x) return string.format('%d', x) end
local function after(x) return '(' .. f(x) end
local NOW_S, CUTOFF_S, IN_WINDOW = f(NOW), f(CUTOFF), after(CUTOFF)

local function limits(i)
  local b = 5 + (i - 1) * 3
  return tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
end

local function keys(i)
  local b = (i - 1) * 4
  return KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], KEYS[b + 4]
end

-- Sum of token reservations that left the window but are not purged yet (peek never purges).
local function expired_tokens(ztok, htok)
  local total, offset = 0, 0
  while true do
    local ids = redis.call('ZRANGEBYSCORE', ztok, '-inf', CUTOFF_S, 'LIMIT', offset, 500)
    if #ids == 0 then return total end
    local vals = redis.call('HMGET', htok, unpack(ids))
    for j = 1, #vals do total = total + (tonumber(vals[j]) or 0) end
    offset = offset + #ids
  end
end

local function newest_reset(key)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #top == 0 then return 0 end
  return math.max(tonumber(top[2]) + WINDOW - NOW, 0)
end

-- In-window counts; after purge() every remaining entry is in the window, so cardinalities do.
local function stats(i, purged)
  local rpm, tpm, mp = limits(i)
  local kreq, ztok, htok, klease = keys(i)
  local s = {rcount = 0, tused = 0, leases = 0}
  if rpm >= 0 then
    s.rcount = purged and redis.call('ZCARD', kreq)
      or redis.call('ZCOUNT', kreq, IN_WINDOW, '+inf')
  end
  if tpm >= 0 then
    s.tused = tonumber(redis.call('HGET', htok, '')) or 0
    if not purged then s.tused = s.tused - expired_tokens(ztok, htok) end
  end
  if mp >= 0 then
    s.leases = purged and redis.call('ZCARD', klease)
      or redis.call('ZCOUNT', klease, after(NOW), '+inf')
  end
  return s
end

local function resets(i, s)
  local kreq, ztok = keys(i)
  s.rreset, s.treset = newest_reset(kreq), newest_reset(ztok)
  return s
end

-- One more request fits once the (count - rpm + 1)-th oldest in-window entry has left.
local function requests_retry(kreq, count, rpm)
  local e = redis.call('ZRANGEBYSCORE', kreq, IN_WINDOW, '+inf', 'WITHSCORES',
    'LIMIT', count - rpm, 1)
  if #e == 0 then return WINDOW end
  return tonumber(e[2]) + WINDOW - NOW
end

-- Walk reservations oldest first until enough tokens would have left the window.
local function tokens_retry(ztok, htok, used, est, tpm)
  local want = math.max(est, 1)
  if want > tpm then return WINDOW end
  local need, freed, offset = used + want - tpm, 0, 0
  while true do
    local e = redis.call('ZRANGEBYSCORE', ztok, IN_WINDOW, '+inf', 'WITHSCORES',
      'LIMIT', offset, 200)
    if #e == 0 then return WINDOW end
    local ids = {}
    for j = 1, #e, 2 do ids[#ids + 1] = e[j] end
    local vals = redis.call('HMGET', htok, unpack(ids))
    for j = 1, #vals do
      freed = freed + (tonumber(vals[j]) or 0)
      if freed >= need then return tonumber(e[2 * j]) + WINDOW - NOW end
    end
    offset = offset + #ids
  end
end

local function lease_retry(klease)
  local e = redis.call('ZRANGEBYSCORE', klease, after(NOW), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if #e == 0 then return CONC_RETRY end
  return math.min(tonumber(e[2]) - NOW, CONC_RETRY)
end

-- Reason code (0 ok, 1 requests, 2 tokens, 3 concurrency) and the wait until every
-- failing check of this scope would pass.
local function check(i, s, est)
  local rpm, tpm, mp = limits(i)
  local kreq, ztok, htok, klease = keys(i)
  local reason, retry = 0, 0
  if rpm >= 0 and s.rcount >= rpm then
    reason, retry = 1, requests_retry(kreq, s.rcount, rpm)
  end
  if tpm >= 0 and (s.tused >= tpm or s.tused + est > tpm) then
    if reason == 0 then reason = 2 end
    retry = math.max(retry, tokens_retry(ztok, htok, s.tused, est, tpm))
  end
  if mp >= 0 and s.leases >= mp then
    if reason == 0 then reason = 3 end
    retry = math.max(retry, lease_retry(klease))
  end
  return reason, retry
end

local function report(out, reason, retry, s)
  for _, v in ipairs({reason, retry, s.rcount, s.rreset, s.tused, s.treset}) do
    out[#out + 1] = v
  end
end
"""

_PURGE = """
local function purge(i)
  local kreq, ztok, htok, klease = keys(i)
  redis.call('ZREMRANGEBYSCORE', kreq, '-inf', CUTOFF_S)
  redis.call('ZREMRANGEBYSCORE', klease, '-inf', NOW_S)
  while true do
    local ids = redis.call('ZRANGEBYSCORE', ztok, '-inf', CUTOFF_S, 'LIMIT', 0, 500)
    if #ids == 0 then return end
    local vals = redis.call('HMGET', htok, unpack(ids))
    local freed = 0
    for j = 1, #vals do freed = freed + (tonumber(vals[j]) or 0) end
    redis.call('ZREM', ztok, unpack(ids))
    redis.call('HDEL', htok, unpack(ids))
    redis.call('HINCRBY', htok, '', f(-freed))
  end
end

local function ttl_ms(us) return f(math.ceil(us / 1000) + 1000) end
local WINDOW_TTL, LEASE_KEY_TTL = ttl_ms(WINDOW), ttl_ms(LEASE_TTL)

-- Returns the tokens this request already held (non-zero only for a retried request_id).
local function admit(i)
  local rpm, tpm, mp = limits(i)
  local kreq, ztok, htok, klease = keys(i)
  local old = 0
  if rpm >= 0 then
    redis.call('ZADD', kreq, NOW_S, RID)
    redis.call('PEXPIRE', kreq, WINDOW_TTL)
  end
  if tpm >= 0 and EST > 0 then
    if redis.call('ZADD', ztok, NOW_S, RID) == 0 then  -- retried id: replace, not add
      old = tonumber(redis.call('HGET', htok, RID)) or 0
    end
    redis.call('HSET', htok, RID, f(EST))
    redis.call('HINCRBY', htok, '', f(EST - old))
    redis.call('PEXPIRE', ztok, WINDOW_TTL)
    redis.call('PEXPIRE', htok, WINDOW_TTL)
  end
  if mp >= 0 then
    redis.call('ZADD', klease, f(NOW + LEASE_TTL), RID)
    redis.call('PEXPIRE', klease, LEASE_KEY_TTL)
  end
  return old
end

-- Blocked requests count. Decisions only compare the in-window count with rpm, so keeping
-- the newest rpm entries changes no decision while bounding memory under a flood.
local function record_denial(i)
  local rpm = limits(i)
  if rpm < 0 then return end
  local kreq = keys(i)
  redis.call('ZADD', kreq, NOW_S, RID)
  redis.call('ZREMRANGEBYRANK', kreq, 0, -(rpm + 1))
  redis.call('PEXPIRE', kreq, WINDOW_TTL)
end
"""

ACQUIRE = (
    _COMMON
    + _PURGE
    + """
local before, reasons, denied = {}, {}, false
for i = 1, N do
  purge(i)
  before[i] = stats(i, true)
  reasons[i] = check(i, before[i], EST)
  if reasons[i] ~= 0 then denied = true end
end
local out = {denied and 0 or 1}
for i = 1, N do
  if not denied then
    -- Post-admission numbers follow from the pre-check ones: no second round of reads.
    local s, old = before[i], admit(i)
    s.rcount, s.tused = s.rcount + 1, s.tused + EST - old
    s.rreset = WINDOW
    s.treset = EST > 0 and WINDOW or newest_reset(select(2, keys(i)))
    report(out, 0, 0, s)
  elseif reasons[i] ~= 0 then
    record_denial(i)
    local s = stats(i, true)
    local _, retry = check(i, s, EST)
    report(out, reasons[i], retry, resets(i, s))
  else
    report(out, 0, 0, resets(i, before[i]))
  end
end
return out
"""
)

PEEK = (
    _COMMON
    + """
local out = {1}
for i = 1, N do
  local s = stats(i, false)
  local reason, retry = check(i, s, EST)
  if reason ~= 0 then out[1] = 0 end
  report(out, reason, retry, resets(i, s))
end
return out
"""
)

# KEYS: tok, tokv per scope with a TPM limit. ARGV: window_us, request_id, estimated, actual.
SETTLE = """
local WINDOW, RID = tonumber(ARGV[1]), ARGV[2]
local EST, ACTUAL = tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function f(x) return string.format('%d', x) end
local ttl = f(math.ceil(WINDOW / 1000) + 1000)

local function set_tokens(ztok, htok, member, value)
  local old = tonumber(redis.call('HGET', htok, member)) or 0
  redis.call('HSET', htok, member, f(value))
  redis.call('HINCRBY', htok, '', f(value - old))
  redis.call('PEXPIRE', ztok, ttl)
  redis.call('PEXPIRE', htok, ttl)
end

for i = 1, #KEYS, 2 do
  local ztok, htok = KEYS[i], KEYS[i + 1]
  local score = tonumber(redis.call('ZSCORE', ztok, RID))
  if score and score > NOW - WINDOW then
    set_tokens(ztok, htok, RID, ACTUAL)
  else
    -- The reservation already left the window (long stream): charge the overrun now, under
    -- a stable member so a repeated settle does not charge it twice.
    local late = RID .. '#late'
    local extra = math.max(ACTUAL - EST, 0)
    if extra > 0 or redis.call('ZSCORE', ztok, late) then
      redis.call('ZADD', ztok, 'NX', f(NOW), late)
      set_tokens(ztok, htok, late, extra)
    end
  end
end
return 1
"""
