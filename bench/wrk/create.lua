-- wrk script: each vendor's create, with a unique e-mail (and Cellcast mobile) per request.
--
--   wrk -s bench/wrk/create.lua http://127.0.0.1:PORT -- VENDOR RUN [COMPANY_ID]
--
-- VENDOR: smartlead | cellcast | voiceaiwrapper | agencyhandy. RUN: a small number that differs
-- between runs against the same server, so that no e-mail repeats. COMPANY_ID: AgencyHandy only,
-- the `_id` that GET /accounts/companies gives for the API key `bench-key`.
-- The e-mail is b<run>t<thread>n<counter>@bench.example.com: unique per request, so every
-- request is validated, checked for uniqueness, stored and answered as a create.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

tid = 0
local vendor, run, company
local counter = 0

function init(args)
  vendor = args[1] or error("usage: -- VENDOR RUN [COMPANY_ID]")
  run = tonumber(args[2] or "0")
  company = args[3]
  if vendor == "agencyhandy" and not company then error("agencyhandy needs COMPANY_ID") end
end

local KEY = "bench-key"

local function smartlead(email)
  return wrk.format("POST", "/api/v1/client/save?api_key=" .. KEY, { ["Content-Type"] = "application/json" },
    '{"email":"' .. email .. '","name":"Acme Agency","permission":["campaigns","email_accounts","leads"],'
    .. '"is_credit_assigned":true,"email_credits":10000,"lead_credits":5000}')
end

local function cellcast(email, n)
  -- 13 digits, unique like the e-mail: run (2), thread (2), counter (9).
  local mobile = string.format("%02d%02d%09d", run % 100, tid % 100, n)
  return wrk.format("POST", "/api/v2/subClient/user",
    { ["Authorization"] = "Bearer " .. KEY, ["Content-Type"] = "application/json" },
    '{"name":"Sub Client Name","email":"' .. email .. '","mobile":"' .. mobile .. '","website":"www.example.com",'
    .. '"password":"Password","companyName":"Cellcast","industry":"Telecommunication","notes":"Sub Client Notes",'
    .. '"isSharingCredit":true}')
end

local function voiceaiwrapper(email)
  return wrk.format("POST", "/api/v2/clients/create",
    { ["Authorization"] = "Bearer " .. KEY, ["Content-Type"] = "application/json" },
    '{"client_users":[{"email":"' .. email .. '","password":"SecureP@ss123"}],'
    .. '"client_details":{"name":"Acme Corp","email":"acme@example.com"},'
    .. '"client_asset_group":{"tenant_voice_provider_id":"VGVuYW50Vm9pY2VQcm92aWRlcjoxMjM=","name":"Default Group"}}')
end

local function agencyhandy(email)
  return wrk.format("POST", "/members/bulk-client",
    { ["x-api-key"] = KEY, ["companyId"] = company, ["Content-Type"] = "application/json" },
    '[{"firstName":"John","lastName":"Doe","email":"' .. email .. '","isConvertedClient":false,"status":"New",'
    .. '"contactNo":"1234567890","source":"website","positionInBoard":1}]')
end

local makers = { smartlead = smartlead, cellcast = cellcast, voiceaiwrapper = voiceaiwrapper, agencyhandy = agencyhandy }

function request()
  counter = counter + 1
  local email = string.format("b%dt%dn%d@bench.example.com", run, tid, counter)
  local make = makers[vendor] or error("unknown vendor " .. tostring(vendor))
  return make(email, counter)
end
