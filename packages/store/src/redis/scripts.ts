/**
 * The Lua scripts of the Redis store. Each runs atomically in Redis; expiry uses Redis' own clock
 * (`TIME` and `PEXPIRE`), so that processes on different machines agree on when a lease ends.
 *
 * Layout under the namespace `P`: `P` + `k:` + key is a hash `{ v: value, n: version }`; `P` + `l:` +
 * name is a hash `{ o: owner, t: token, e: expiresAt }`; `P` + `t:` + name counts the name's fencing
 * tokens and never expires.
 */

const now = `local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)`;

/** KEYS: key. ARGV: value, expected version (-1: any), ttl ms (0: none). Returns the new version or nil. */
export const writeScript = `
local n = tonumber(redis.call('HGET', KEYS[1], 'n')) or 0
local expected = tonumber(ARGV[2])
if expected >= 0 and n ~= expected then return false end
n = n + 1
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'n', n)
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) else redis.call('PERSIST', KEYS[1]) end
return n`;

/** KEYS: key. ARGV: expected version (-1: any). Returns 1 when deleted. */
export const deleteScript = `
local n = tonumber(redis.call('HGET', KEYS[1], 'n'))
if n == nil then return 0 end
local expected = tonumber(ARGV[1])
if expected >= 0 and n ~= expected then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

/** KEYS: lease, token counter. ARGV: owner, ttl ms. Returns { token, expiresAt } or nil. */
export const acquireScript = `
${now}
local owner = redis.call('HGET', KEYS[1], 'o')
local token
if owner then
  if owner ~= ARGV[1] then return false end
  token = tonumber(redis.call('HGET', KEYS[1], 't'))
else
  token = redis.call('INCR', KEYS[2])
end
local expiresAt = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'o', ARGV[1], 't', token, 'e', expiresAt)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return { token, expiresAt }`;

/** KEYS: lease. ARGV: owner, token, ttl ms. Returns expiresAt or nil. */
export const renewScript = `
${now}
local held = redis.call('HMGET', KEYS[1], 'o', 't')
if held[1] ~= ARGV[1] or held[2] ~= ARGV[2] then return false end
local expiresAt = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'e', expiresAt)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return expiresAt`;

/** KEYS: lease. ARGV: owner, token. Returns 1 when released. */
export const releaseScript = `
local held = redis.call('HMGET', KEYS[1], 'o', 't')
if held[1] ~= ARGV[1] or held[2] ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;
