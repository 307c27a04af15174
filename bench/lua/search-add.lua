-- wrk script: POST a new search document per request, its key unique across wrk's threads and requests.
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
request = function()
  counter = counter + 1
  local body = '{"key":"w' .. tostring(tid) .. '-' .. counter .. '","doc":{"title":"Film ' .. counter ..
    ' spice","plot":"desert spice ocean"}}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
