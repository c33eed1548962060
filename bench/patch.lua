-- wrk script for the informer benchmarks' writer: every request merge-patches one of the COUNT
-- Foos PREFIX-00000 .. (created by fill.py), round robin, with an annotation that differs on every
-- request, so each acknowledged PATCH is a real change and makes exactly one MODIFIED event.
-- The same script (same wrk flags) drives the C informer and client-node's, one after the other.
-- Environment: FOO_TOKEN (bearer token), FOO_PREFIX (default "foo"), FOO_COUNT (default 10000).

local next_id = 0
local token = os.getenv("FOO_TOKEN") or ""
local prefix = os.getenv("FOO_PREFIX") or "foo"
local count = tonumber(os.getenv("FOO_COUNT") or "10000")

function setup(thread)
    thread:set("tid", next_id)
    next_id = next_id + 1
end

local counter = 0
local headers = {
    ["Content-Type"] = "application/merge-patch+json",
    ["Accept"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
}

function request()
    counter = counter + 1
    -- Threads start at different offsets so two threads rarely patch the same Foo at once.
    local i = (tid * 7919 + counter) % count
    local path = string.format("/apis/demo.example.com/v1beta1/foos/%s-%05d", prefix, i)
    local body = string.format('{"metadata":{"annotations":{"bench-write":"%d-%d"}}}', tid, counter)
    return wrk.format("PATCH", path, headers, body)
end
