/**
 * Lua scripts: each runs atomically in Redis, so a versioned update, a touch, a delete or a sweep
 * never interleaves with another client's. Keys are built inside the scripts from the prefix in
 * ARGV[1] (so the adapter targets one Redis node, not a cluster).
 *
 * A context is a hash of string fields (see toHash in contexts.ts); `data` and `metadata` hold JSON
 * text that the scripts never parse. Index sorted sets (score `created`, member id) serve list and
 * count; `exp` (score expiresAt) drives the sweep; `expmeta` keeps each expiring context's fields
 * other than data and metadata, so a sweep can still report a context Redis already expired.
 */
/** Helpers of the sweep, which handles many contexts per call. */
const SWEEP_HELPERS = `
local P = ARGV[1]
local function ckey(id) return P .. 'ctx:' .. id end
local INDEXED = { 'scope', 'owner', 'session', 'persona', 'parent' }
local SCALARS = { 'id', 'scope', 'owner', 'session', 'persona', 'parent', 'ver', 'created', 'updated', 'exp', 'acc', 'last' }
local function scalars(key)
  local r = redis.call('HMGET', key, unpack(SCALARS))
  if not r[1] then return nil end
  local h = {}
  for i, f in ipairs(SCALARS) do if r[i] then h[f] = r[i] end end
  return h
end
local function unindex(h)
  redis.call('ZREM', P .. 'ix:all', h.id)
  for _, f in ipairs(INDEXED) do
    local v = h[f]
    if v and v ~= '' then redis.call('ZREM', P .. 'ix:' .. f .. ':' .. v, h.id) end
  end
  redis.call('ZREM', P .. 'exp', h.id)
  redis.call('HDEL', P .. 'expmeta', h.id)
end
`;

/**
 * After any write: the expiry set, the sweep metadata and the native expiry follow expiresAt, for
 * the context table named `h` (which has `id` and, when it expires, `exp`). Native expiry
 * (PEXPIREAT) only when expiresAt is still ahead of the server's clock: a record expired by an
 * injected clock stays until swept, as the contract asks. Inline statements, not a Lua function:
 * a script pays for every closure and table it builds on each call (the shared prelude of helper
 * functions these scripts once had cost about 5 us of server time per call).
 */
const syncExpiryInline = (h: string) => `
do
  local key = P .. 'ctx:' .. ${h}.id
  if ${h}.exp then
    redis.call('ZADD', P .. 'exp', ${h}.exp, ${h}.id)
    redis.call('HSET', P .. 'expmeta', ${h}.id, cjson.encode(${h}))
    local t = redis.call('TIME')
    if tonumber(${h}.exp) > tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) then
      redis.call('PEXPIREAT', key, ${h}.exp)
    else
      redis.call('PERSIST', key)
    end
  else
    redis.call('ZREM', P .. 'exp', ${h}.id)
    redis.call('HDEL', P .. 'expmeta', ${h}.id)
    redis.call('PERSIST', key)
  end
end
`;

/** ARGV: prefix, then field/value pairs. Returns 1, or 0 when the id is taken (live, expired or awaiting a sweep). */
export const CREATE = `
local P = ARGV[1]
local h = {}
for i = 2, #ARGV, 2 do h[ARGV[i]] = ARGV[i + 1] end
local id = h.id
local key = P .. 'ctx:' .. id
if redis.call('EXISTS', key) == 1 or redis.call('HEXISTS', P .. 'expmeta', id) == 1 then return 0 end
redis.call('HSET', key, unpack(ARGV, 2))
redis.call('ZADD', P .. 'ix:all', h.created, id)
for _, f in ipairs({ 'scope', 'owner', 'session', 'persona', 'parent' }) do
  local v = h[f]
  if v and v ~= '' then redis.call('ZADD', P .. 'ix:' .. f .. ':' .. v, h.created, id) end
end
-- A new key has no TTL and is in neither expiry structure: only an expiring context has work here.
if h.exp then
  h.data = nil
  h.metadata = nil
  ${syncExpiryInline('h')}
end
return 1
`;

/**
 * ARGV: prefix, id, expected version, now, then change pairs (data, metadata, owner, parent, exp;
 * an empty value removes parent or exp). Returns one string of fields joined by U+001F (one bulk
 * reply costs Redis and the client less than a table of 12): 'nf'; 'conflict', version; or 'ok',
 * scope, owner, session, persona, parent, created, exp, acc, last, metadata, data (see fromUpdate
 * in contexts.ts), with '' for an absent field and for the data or metadata the call sent (the
 * caller has those: the script stores what it was sent verbatim). No field can hold U+001F: ids
 * have no control characters, and JSON text escapes them. The new version and updatedAt are the
 * caller's expected version + 1 and now.
 */
export const UPDATE = `
local P, id, expected, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = P .. 'ctx:' .. id
local r = redis.call('HMGET', key, 'ver', 'exp', 'created', 'scope', 'owner', 'session', 'persona', 'parent', 'acc', 'last', 'metadata')
if not r[1] then return 'nf' end
local exp = r[2]
if exp and tonumber(now) >= tonumber(exp) then return 'nf' end
if r[1] ~= expected then return 'conflict\\31' .. r[1] end
local hadExp = exp ~= false
local created, owner, parent, meta = r[3], r[5], r[8], r[11]
local ver = tostring(tonumber(expected) + 1)
local set = { 'ver', ver, 'updated', now }
local sentData = false
for i = 5, #ARGV, 2 do
  local f, v = ARGV[i], ARGV[i + 1]
  if f == 'data' then
    sentData = true
  elseif f == 'metadata' then
    meta = ''
  elseif f == 'owner' or f == 'parent' then
    local old = r[5]
    if f == 'parent' then old = r[8] end
    if old ~= v then
      if old then redis.call('ZREM', P .. 'ix:' .. f .. ':' .. old, id) end
      if v ~= '' then redis.call('ZADD', P .. 'ix:' .. f .. ':' .. v, created, id) end
    end
    if f == 'owner' then owner = v else parent = v end
  elseif f == 'exp' then
    exp = v
  end
  if v == '' then
    redis.call('HDEL', key, f)
  else
    set[#set + 1] = f
    set[#set + 1] = v
  end
end
redis.call('HSET', key, unpack(set))
if exp == '' then exp = false end
if parent == '' then parent = false end
-- A context that had no expiry and gets none has nothing to sync (no TTL, not in the expiry set).
if hadExp or exp then
  local h = {
    id = id, scope = r[4], owner = owner or nil, session = r[6] or nil, persona = r[7] or nil,
    parent = parent or nil, ver = ver, created = created, updated = now, exp = exp or nil,
    acc = r[9], last = r[10],
  }
  ${syncExpiryInline('h')}
end
local data = ''
if not sentData then data = redis.call('HGET', key, 'data') end
return table.concat({ 'ok', r[4], owner or '', r[6] or '', r[7] or '', parent or '', created, exp or '', r[9], r[10], meta, data }, '\\31')
`;

/**
 * ARGV: prefix, id, at, [expiresAt]. Returns 1 when a live context was touched. A touch of a
 * context that never expires is two reads and two writes.
 */
export const TOUCH = `
local P, id, at, newExp = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = P .. 'ctx:' .. id
local r = redis.call('HMGET', key, 'ver', 'exp')
if not r[1] or (r[2] and tonumber(at) >= tonumber(r[2])) then return 0 end
redis.call('HINCRBY', key, 'acc', 1)
if newExp then
  redis.call('HSET', key, 'last', at, 'exp', newExp)
else
  redis.call('HSET', key, 'last', at)
end
if newExp or r[2] then
  local fields = { 'id', 'scope', 'owner', 'session', 'persona', 'parent', 'ver', 'created', 'updated', 'exp', 'acc', 'last' }
  local v = redis.call('HMGET', key, unpack(fields))
  local h = {}
  for i, f in ipairs(fields) do if v[i] then h[f] = v[i] end end
  ${syncExpiryInline('h')}
end
return 1
`;

/** ARGV: prefix, id, now, expected version or ''. Returns {1} deleted, {0} absent or expired, {-1, version} conflict. */
export const DELETE = `
local P, id, now, expected = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local key = P .. 'ctx:' .. id
local r = redis.call('HMGET', key, 'ver', 'exp', 'scope', 'owner', 'session', 'persona', 'parent')
if not r[1] or (r[2] and now >= tonumber(r[2])) then return { 0 } end
if expected ~= '' and r[1] ~= expected then return { -1, r[1] } end
redis.call('DEL', key)
redis.call('ZREM', P .. 'ix:all', id)
local indexed = { 'scope', 'owner', 'session', 'persona', 'parent' }
for i = 3, 7 do
  if r[i] then redis.call('ZREM', P .. 'ix:' .. indexed[i - 2] .. ':' .. r[i], id) end
end
redis.call('ZREM', P .. 'exp', id)
redis.call('HDEL', P .. 'expmeta', id)
return { 1 }
`;

/**
 * ARGV: prefix, now, limit (0 = all). Deletes contexts with expiresAt <= now, oldest expiry
 * first, and returns each as a flat field list; one Redis already expired comes back from its
 * sweep metadata with the field 'gone' set.
 */
export const SWEEP = `${SWEEP_HELPERS}
local now, limit = ARGV[2], tonumber(ARGV[3])
local ids
if limit > 0 then
  ids = redis.call('ZRANGEBYSCORE', P .. 'exp', '-inf', now, 'LIMIT', 0, limit)
else
  ids = redis.call('ZRANGEBYSCORE', P .. 'exp', '-inf', now)
end
local out = {}
for _, id in ipairs(ids) do
  local key = ckey(id)
  local h = scalars(key)
  if h then
    out[#out + 1] = redis.call('HGETALL', key)
    redis.call('DEL', key)
    unindex(h)
  else
    local meta = redis.call('HGET', P .. 'expmeta', id)
    if meta then
      local m = cjson.decode(meta)
      local flat = { 'gone', '1' }
      for k, v in pairs(m) do
        flat[#flat + 1] = k
        flat[#flat + 1] = v
      end
      out[#out + 1] = flat
      unindex(m)
    else
      redis.call('ZREM', P .. 'exp', id)
    end
  end
end
return out
`;

/** ARGV: prefix, then per event: id, at, contextId, principal, json. Returns the ids already stored (nothing written then). */
export const AUDIT_APPEND = `
local P = ARGV[1]
local taken = {}
for i = 2, #ARGV, 5 do
  if redis.call('HEXISTS', P .. 'audit:ev', ARGV[i]) == 1 then taken[#taken + 1] = ARGV[i] end
end
if #taken > 0 then return taken end
for i = 2, #ARGV, 5 do
  local id, at, ctx, principal, json = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  redis.call('HSET', P .. 'audit:ev', id, json)
  redis.call('ZADD', P .. 'audit:all', at, id)
  redis.call('ZADD', P .. 'audit:ctx:' .. ctx, at, id)
  redis.call('ZADD', P .. 'audit:pr:' .. principal, at, id)
end
return {}
`;

/**
 * One page of contexts in one round trip. ARGV: prefix, index key (after the prefix), the
 * cursor's createdAt or '-inf', the cursor's id or '', now, how many to return (limit + 1, so the
 * caller knows whether there is a next page), then filter pairs (hash field, value).
 *
 * Walks the index in (createdAt, id) order from the cursor, skipping ids at the cursor's
 * createdAt up to and including the cursor's id (Redis orders equal scores by member bytes;
 * `bytesLE` compares the same way, where Lua's `<` would follow the server's locale). Returns
 * live, matching contexts as flat field lists; index entries whose key Redis already expired are
 * pruned here, atomically. To keep Redis responsive, one call examines at most MAX_SCAN index
 * entries: it then returns {'more', score, id} of the last entry examined, and the caller goes on
 * from there; otherwise {'done', '', ''}. Items follow from the fourth element.
 */
export const LIST = `
local P = ARGV[1]
local index = P .. ARGV[2]
local afterScore, afterId, now, want = ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local MAX_SCAN = 1000
local function bytesLE(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a <= #b
end
local wantFields = {}
for i = 7, #ARGV, 2 do wantFields[#wantFields + 1] = { ARGV[i], ARGV[i + 1] } end
local out = { 'done', '', '' }
local found, scanned, offset = 0, 0, 0
local tieScore = afterId ~= '' and tonumber(afterScore) or nil
local batch = math.max(want, 16)
while true do
  local rows = redis.call('ZRANGEBYSCORE', index, afterScore, '+inf', 'WITHSCORES', 'LIMIT', offset, batch)
  offset = offset + #rows / 2
  for i = 1, #rows, 2 do
    local id, score = rows[i], rows[i + 1]
    scanned = scanned + 1
    if not (tieScore and tonumber(score) == tieScore and bytesLE(id, afterId)) then
      local key = P .. 'ctx:' .. id
      local flat = redis.call('HGETALL', key)
      if #flat == 0 then
        redis.call('ZREM', index, id)
        offset = offset - 1
      else
        local h = {}
        for j = 1, #flat, 2 do h[flat[j]] = flat[j + 1] end
        local ok = h.exp == nil or now < tonumber(h.exp)
        for _, fw in ipairs(wantFields) do
          if h[fw[1]] ~= fw[2] then ok = false end
        end
        if ok then
          out[#out + 1] = flat
          found = found + 1
          if found >= want then return out end
        end
      end
    end
    if scanned >= MAX_SCAN then
      out[1], out[2], out[3] = 'more', score, id
      return out
    end
  end
  if #rows < batch * 2 then return out end
  batch = math.min(batch * 2, 500)
end
`;
