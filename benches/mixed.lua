-- wrk script: mixed load. 70% reads the read cache holds (a few hot URLs), 20% reads of many
-- distinct URLs (pages, tags, sorts), 10% article creates. The token comes from the environment
-- (FOLIO_BENCH_TOKEN); tags are taken from FOLIO_BENCH_TAGS (comma-separated slugs).
local counter = 0
local tags = {}
for tag in string.gmatch(os.getenv("FOLIO_BENCH_TAGS") or "rust", "[^,]+") do
    table.insert(tags, tag)
end
local sorts = { "-published_at", "published_at", "-updated_at", "title" }

request = function()
    counter = counter + 1
    local roll = math.random()
    if roll < 0.7 then
        local hot = { "/api/v1/articles?limit=20", "/api/v1/tags", "/api/v1/articles?tag=" .. tags[1] }
        return wrk.format("GET", hot[math.random(#hot)])
    elseif roll < 0.9 then
        local path = string.format("/api/v1/articles?tag=%s&sort=%s&limit=%d&page=%d",
            tags[math.random(#tags)], sorts[math.random(#sorts)], math.random(5, 30), math.random(1, 20))
        return wrk.format("GET", path)
    end
    local body = string.format(
        '{"title":"Soak article %d","status":"published","body_markdown":"Soak *test* body %d.","tags":["%s"]}',
        counter, counter, tags[math.random(#tags)])
    return wrk.format("POST", "/api/v1/articles", {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. os.getenv("FOLIO_BENCH_TOKEN"),
    }, body)
end
