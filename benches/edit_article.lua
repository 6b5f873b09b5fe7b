-- wrk script: an editor's loop. Read a random article (for its ETag), change its title with
-- If-Match, repeat: every second request is a PATCH, each making a revision that holds the
-- whole article. Run with one connection per thread (-t N -c N): the ETag is per thread.
-- Settings from the environment: FOLIO_BENCH_TOKEN, FOLIO_BENCH_ARTICLES (ids 1..N).
local token = os.getenv("FOLIO_BENCH_TOKEN")
local articles = tonumber(os.getenv("FOLIO_BENCH_ARTICLES"))
local article, etag
local reading = false
local edits = 0

function setup(thread)
    thread:set("seed", math.random(1, 1000000000))
end

function init()
    math.randomseed(seed or 1)
end

request = function()
    if etag == nil then
        reading = true
        article = math.random(1, articles)
        return wrk.format("GET", "/api/v1/articles/" .. article,
            { ["Authorization"] = "Bearer " .. token })
    end
    reading = false
    edits = edits + 1
    local request = wrk.format("PATCH", "/api/v1/articles/" .. article, {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
        ["If-Match"] = etag,
    }, string.format('{"title":"Edited title %d"}', edits))
    etag = nil
    return request
end

response = function(status, headers)
    if reading and status == 200 then
        etag = headers["etag"]
    end
end
