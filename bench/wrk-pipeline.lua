-- wrk script: send `depth` copies of the request back to back on each connection (HTTP/1.1 pipelining).
-- Usage: wrk -s bench/wrk-pipeline.lua URL -- 16
local depth = 1
local batch

function init(args)
  depth = tonumber(args[1] or "1")
  local one = wrk.format(nil, nil)
  local parts = {}
  for i = 1, depth do parts[i] = one end
  batch = table.concat(parts)
end

function request()
  return batch
end
