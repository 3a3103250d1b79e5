-- mix.lua: wrk's request mix for the soak (bench/soak/run.sh).
-- Every request is drawn at random: tiles at zooms 10-18 over the data
-- (the memory cache is small, so most are rendered), lookups at a point,
-- small bbox queries, parcels by number, and the small routes. Statuses
-- are counted and printed by done(), one "status count" line each, so that
-- run.sh can tell 5xx (other than 503) from the rest.
--
-- Environment: SOAK_BBOX="minlon,minlat,maxlon,maxlat" (the data's box),
-- SOAK_IDS=FILE (lines "commune/sheet/parcel"), SOAK_SEED (per wrk run).

local bbox = {}
for v in string.gmatch(os.getenv("SOAK_BBOX") or "105.0,21.0,105.5,21.5", "[^,]+") do
    bbox[#bbox + 1] = tonumber(v)
end
local ids = {}
local f = io.open(os.getenv("SOAK_IDS") or "", "r")
if f then
    for line in f:lines() do ids[#ids + 1] = line end
    f:close()
end
if #ids == 0 then ids[1] = "00000/1/1" end

local threads = {}

function setup(thread)
    thread:set("id", #threads + 1)
    threads[#threads + 1] = thread
end

function init(args)
    math.randomseed((tonumber(os.getenv("SOAK_SEED") or "1") or 1) * 7919 + id)
    statuses = {}
end

local function rnd(a, b) return a + (b - a) * math.random() end

local function tile(lon, lat, z)
    local n = 2 ^ z
    local r = math.rad(lat)
    local x = math.floor((lon + 180) / 360 * n)
    local y = math.floor((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
    return x, y
end

function request()
    local p = math.random()
    local lon = rnd(bbox[1], bbox[3])
    local lat = rnd(bbox[2], bbox[4])
    local path
    if p < 0.45 then
        local z = math.random(10, 18)
        local x, y = tile(lon, lat, z)
        path = string.format("/tiles/%d/%d/%d%s.png", z, x, y, math.random() < 0.1 and "@2x" or "")
    elseif p < 0.75 then
        path = string.format("/parcels/at?lon=%.7f&lat=%.7f", lon, lat)
    elseif p < 0.85 then
        local d = rnd(0.0005, 0.004)
        path = string.format("/parcels?bbox=%.7f,%.7f,%.7f,%.7f&limit=%d", lon, lat, lon + d,
                             lat + d, math.random(10, 200))
    elseif p < 0.95 then
        path = "/parcels/" .. ids[math.random(#ids)]
    else
        local small = {"/communes", "/tiles.json", "/health", "/metrics"}
        path = small[math.random(#small)]
    end
    return wrk.format("GET", path)
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
    local total = {}
    for _, t in ipairs(threads) do
        local s = t:get("statuses")
        for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
    end
    for k, v in pairs(total) do io.write(string.format("status %d %d\n", k, v)) end
    local e = summary.errors
    io.write(string.format("requests %d\n", summary.requests))
    io.write(string.format("errors connect %d read %d write %d timeout %d status %d\n",
                           e.connect, e.read, e.write, e.timeout, e.status))
    io.write(string.format("latency_p50_ms %.2f p99_ms %.2f max_ms %.2f\n",
                           latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                           latency.max / 1000))
end
