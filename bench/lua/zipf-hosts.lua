-- wrk script: keep-alive sessions over app0.test .. app{N-1}.test, hosts drawn from a Zipf(s = 1) distribution.
-- N comes from NAPPS (default 1000); each session keeps its host for KEEP requests (default 100), as a browser or API
-- client keeps its connection to one site. wrk's Lua sees its thread, not which connection asks, so each thread holds
-- SESSIONS sessions (default 32, the connections of a thread at -c64 -t2) and serves them in turn.
local n = tonumber(os.getenv("NAPPS") or "1000")
local keep = tonumber(os.getenv("KEEP") or "100")
local sessions = tonumber(os.getenv("SESSIONS") or "32")

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

-- cdf[k]: the probability of hosts 0 .. k-1 (host k-1 drawn with weight 1 / k).
local cdf = {}
local hosts = {}
local slots = {}
local next_slot = 0

local function draw()
  local u = math.random()
  local lo, hi = 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return lo - 1
end

function init(args)
  math.randomseed((seed or 0) * 7919 + 17)
  local total = 0
  for k = 1, n do total = total + 1 / k end
  local acc = 0
  for k = 1, n do
    acc = acc + 1 / k / total
    cdf[k] = acc
    hosts[k - 1] = "app" .. (k - 1) .. ".test"
  end
  cdf[n] = 1
  for i = 1, sessions do
    -- Sessions start part-way through their run, so that they do not all change host at once.
    slots[i] = { host = draw(), left = math.random(keep) }
  end
end

function request()
  next_slot = next_slot % sessions + 1
  local s = slots[next_slot]
  if s.left <= 0 then
    s.host = draw()
    s.left = keep
  end
  s.left = s.left - 1
  return wrk.format("GET", "/", { ["Host"] = hosts[s.host] })
end
