-- wrk script for the durable-create benchmark: every request POSTs a Foo with a unique name.
-- Names are "<prefix>-<thread>-<counter>"; each wrk thread has its own Lua state, so the thread id
-- (set from setup) plus a per-thread counter is unique without locking. The body is padded to
-- about BODY_BYTES so it matches the ~1 KB rows of the SQLite baseline.
-- Environment: FOO_TOKEN (bearer token), FOO_PREFIX (name prefix, default "w").

local BODY_BYTES = 1024
local next_id = 0
local token = os.getenv("FOO_TOKEN") or ""
local prefix = os.getenv("FOO_PREFIX") or "w"

function setup(thread)
    thread:set("tid", next_id)
    next_id = next_id + 1
end

local counter = 0
local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
}

local function body(name)
    local head = '{"apiVersion":"demo.example.com/v1beta1","kind":"Foo","metadata":{"name":"'
        .. name .. '","annotations":{"pad":"'
    local tail = '"}},"spec":{"replicas":1,"image":"nginx:1.27"}}'
    local pad = BODY_BYTES - #head - #tail
    if pad < 0 then pad = 0 end
    return head .. string.rep("x", pad) .. tail
end

function request()
    counter = counter + 1
    local name = string.format("%s-%d-%d", prefix, tid, counter)
    return wrk.format("POST", "/apis/demo.example.com/v1beta1/foos", headers, body(name))
end
