-- Ticks for wrk: every request marks a DIFFERENT open item done (POST, answered by a 302).
--
-- The runner writes one line per item, "episode_id item_id version", to the file named by
-- PERIOP_BENCH_TICKS, puts the CSRF token in PERIOP_BENCH_CSRF and the number of wrk threads
-- in PERIOP_BENCH_THREADS, and passes the session cookie with -H. Each wrk thread has its own
-- Lua state: setup() numbers the threads and each thread takes every n-th line of the file,
-- so no item is ticked twice. Every request carries a fresh one-time form token, as the
-- episode page's forms do. When a thread has used all its items it asks for a path that
-- does not exist: those 404s count as errors, and done() prints how many there were.

local threads = {}
local numbered = 0

function setup(thread)
   thread:set("thread_number", numbered)
   table.insert(threads, thread)
   numbered = numbered + 1
end

function init(args)
   local count = tonumber(os.getenv("PERIOP_BENCH_THREADS") or "1")
   token = os.getenv("PERIOP_BENCH_CSRF")
   items = {}
   local n = 0
   for line in io.lines(os.getenv("PERIOP_BENCH_TICKS")) do
      if n % count == thread_number then
         table.insert(items, line)
      end
      n = n + 1
   end
   next_item = 1
   exhausted = 0
   math.randomseed(os.time() * 1000 + thread_number)
   -- wrk.format uses wrk.headers (with the -H cookie) only when given no headers of its own.
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

-- A one-time form token: 32 random letters and digits.
local function form_token()
   local chars = {}
   for i = 1, 32 do
      local n = math.random(1, #ALPHABET)
      chars[i] = ALPHABET:sub(n, n)
   end
   return table.concat(chars)
end

function request()
   local line = items[next_item]
   if line == nil then
      exhausted = exhausted + 1
      return wrk.format("GET", "/bench-ticks-exhausted")
   end
   next_item = next_item + 1
   local episode, item, version = line:match("(%d+) (%d+) (%d+)")
   local path = "/episodes/" .. episode .. "/items/" .. item .. "/done"
   local body = "csrf_token=" .. token .. "&form_token=" .. form_token() .. "&version=" .. version
   return wrk.format("POST", path, nil, body)
end

function done(summary, latency, requests)
   local total = 0
   for _, thread in ipairs(threads) do
      total = total + (thread:get("exhausted") or 0)
   end
   io.write(string.format("ticks exhausted: %d\n", total))
end
