-- wrk script: POST /api/v1/articles, published, with 3 tags of which about half are new.
-- The token comes from the environment (FOLIO_BENCH_TOKEN).
local counter = 0
local thread_id = 0

function setup(thread)
    thread:set("id", math.random(1, 1000000000))
end

function init()
    thread_id = id or 0
end

local function tag(n)
    if math.random() < 0.5 then
        return string.format("Topic %d", math.random(1, 40))
    end
    return string.format("Fresh %d-%d-%d", thread_id, counter, n)
end

request = function()
    counter = counter + 1
    local body = string.format(
        '{"title":"Benchmark article %d","status":"published","body_markdown":"# Hello\\n\\nSome *markdown* with a [link](https://example.com) and `code`.\\n\\n- one\\n- two\\n","tags":["%s","%s","%s"]}',
        counter, tag(1), tag(2), tag(3))
    return wrk.format("POST", "/api/v1/articles", {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. os.getenv("FOLIO_BENCH_TOKEN"),
    }, body)
end
