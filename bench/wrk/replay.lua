-- wrk script for the memory run: the four vendors' captured example requests in turn, the same
-- bodies over and over (after the first round every create is a duplicate, so the state stays
-- small while every request is still validated, checked, answered and journalled).
--
--   wrk -s bench/wrk/replay.lua http://127.0.0.1:PORT -- COMPANY_ID
--
-- COMPANY_ID: the `_id` that GET /accounts/companies gives for the API key `bench-key`.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local requests = {}
local i = 0

function init(args)
  local company = args[1] or error("usage: -- COMPANY_ID")
  local json = { ["Content-Type"] = "application/json" }
  local bearer = { ["Authorization"] = "Bearer bench-key", ["Content-Type"] = "application/json" }
  requests = {
    wrk.format("POST", "/api/v1/client/save?api_key=bench-key", json,
      '{"email":"admin@acme.com","name":"Acme Agency","permission":["campaigns","email_accounts","leads"],'
      .. '"is_credit_assigned":true,"email_credits":10000,"lead_credits":5000}'),
    wrk.format("POST", "/api/v2/subClient/user", bearer,
      '{"name":"Sub Client Name","email":"subclient@example.com","mobile":"0400000000","website":"www.example.com",'
      .. '"password":"Password","companyName":"Cellcast","industry":"Telecommunication","notes":"Sub Client Notes",'
      .. '"isSharingCredit":true}'),
    wrk.format("POST", "/api/v2/clients/create", bearer,
      '{"client_users":[{"email":"user@client.com","password":"SecureP@ss123"}],'
      .. '"client_details":{"name":"Acme Corp","email":"acme@example.com"},'
      .. '"client_asset_group":{"tenant_voice_provider_id":"VGVuYW50Vm9pY2VQcm92aWRlcjoxMjM=","name":"Default Group"}}'),
    wrk.format("POST", "/members/bulk-client",
      { ["x-api-key"] = "bench-key", ["companyId"] = company, ["Content-Type"] = "application/json" },
      '[{"firstName":"John","lastName":"Doe","email":"john.doe@example.com","isConvertedClient":false,'
      .. '"status":"New","contactNo":"1234567890","source":"website","positionInBoard":1}]'),
  }
end

function request()
  i = i % #requests + 1
  return requests[i]
end
