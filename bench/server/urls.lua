-- urls.lua: wrk script for the server benchmark. Each thread walks the URL
-- list (one path a line, the file given after --) from its own random
-- start; done() prints one parseable RESULT line.
--   wrk -t2 -c64 -d10s -s bench/server/urls.lua http://127.0.0.1:PORT -- URLS.txt

local urls = {}
local i = 0

function init(args)
    for line in io.lines(args[1]) do
        if #line > 0 then
            urls[#urls + 1] = line
        end
    end
    if #urls == 0 then
        error("no URLs in " .. args[1])
    end
    i = math.random(#urls)
end

function request()
    i = i % #urls + 1
    return wrk.format("GET", urls[i])
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT rps=%.1f requests=%d seconds=%.2f p50_us=%d p95_us=%d p99_us=%d max_us=%d non2xx=%d errors=%d\n",
        summary.requests / (summary.duration / 1e6), summary.requests, summary.duration / 1e6,
        latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, e.status,
        e.connect + e.read + e.write + e.timeout))
end
