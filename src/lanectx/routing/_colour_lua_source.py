"""The Lua program of the gateway colouring filter (Envoy's Lua filter, LuaJIT / Lua 5.1).

`lanectx.routing._colour_lua` prepends the generated ``SETTINGS`` and ``RULES``
tables. It mirrors `lanectx.colouring`: the same lane detection, the same matchers
and the same FNV-1a percentage buckets, in plain arithmetic (exact in doubles).
"""

from __future__ import annotations

__all__ = ["LUA_PROGRAM"]

LUA_PROGRAM = r"""
local function trim(text)
  return (string.gsub(string.gsub(text, "^[ \t]+", ""), "[ \t]+$", ""))
end

local function is_lane(text)
  if #text == 0 or #text > 40 then
    return false
  end
  if #text == 1 then
    return string.find(text, "^[a-z0-9]$") ~= nil
  end
  return string.find(text, "^[a-z0-9][a-z0-9%-]*[a-z0-9]$") ~= nil
end

local function values(headers, name)
  local found = {}
  for index = 0, headers:getNumValues(name) - 1 do
    table.insert(found, headers:getAtIndex(name, index))
  end
  return found
end

-- The lane the request already carries, read in the contract's order.
local function carried_lane(headers)
  for _, name in ipairs(SETTINGS.lane_headers) do
    for _, value in ipairs(values(headers, name)) do
      if is_lane(trim(value)) then
        return trim(value)
      end
    end
  end
  for _, name in ipairs(SETTINGS.pr_headers) do
    for _, value in ipairs(values(headers, name)) do
      local text = trim(value)
      local number = string.match(text, "^pr%-(%d+)$") or string.match(text, "^(%d+)$")
      if #value <= 40 and number ~= nil and #number <= 37 then
        local lane = SETTINGS.pr_prefix .. number
        if is_lane(lane) then
          return lane
        end
      end
    end
  end
  for _, value in ipairs(values(headers, "baggage")) do
    for member in string.gmatch(value, "[^,]+") do
      local pair = string.match(member, "^([^;]*)")
      local key, rest = string.match(pair, "^([^=]*)=(.*)$")
      if key ~= nil and trim(key) == SETTINGS.baggage_key and is_lane(trim(rest)) then
        return trim(rest)
      end
    end
  end
  return nil
end

local function text_matches(test, text)
  if test.op == "exact" then
    return text == test.value
  elseif test.op == "prefix" then
    return string.sub(text, 1, #test.value) == test.value
  end
  return #test.value == 0 or string.sub(text, -#test.value) == test.value
end

local function cookie(headers, name)
  for _, value in ipairs(values(headers, "cookie")) do
    for part in string.gmatch(value, "[^;]+") do
      local key, text = string.match(trim(part), "^([^=]*)=(.*)$")
      if key == name then
        return text
      end
    end
  end
  return nil
end

-- Low byte XOR without the bit library.
local function xor_byte(a, b)
  local result, place = 0, 1
  for _ = 1, 8 do
    if a % 2 ~= b % 2 then
      result = result + place
    end
    a, b, place = math.floor(a / 2), math.floor(b / 2), place * 2
  end
  return result
end

-- FNV-1a, 32 bits; the multiplication by 16777619 (2^24 + 403) is split to stay exact.
local function fnv1a(text)
  local hash = 2166136261
  for index = 1, #text do
    local low = hash % 256
    hash = hash - low + xor_byte(low, string.byte(text, index))
    hash = (hash * 403 + (hash % 256) * 16777216) % 4294967296
  end
  return hash
end

local function matches(headers, test)
  if test.kind == "header" then
    for _, value in ipairs(values(headers, test.name)) do
      if text_matches(test, value) then
        return true
      end
    end
    return false
  elseif test.kind == "host" then
    local host = headers:get(":authority")
    if host == nil then
      return false
    end
    return text_matches(test, (string.gsub(string.lower(trim(host)), ":%d*$", "")))
  elseif test.kind == "cookie" then
    local value = cookie(headers, test.name)
    return value ~= nil and text_matches(test, value)
  end
  local value
  if test.source == "cookie" then
    value = cookie(headers, test.name)
  else
    value = values(headers, test.name)[1]
  end
  if value == nil or value == "" then
    return false
  end
  return fnv1a(test.seed .. value) % 10000 < test.threshold
end

function envoy_on_request(handle)
  local headers = handle:headers()
  if carried_lane(headers) ~= nil then
    return
  end
  for _, rule in ipairs(RULES) do
    local all = true
    for _, test in ipairs(rule.tests) do
      if not matches(headers, test) then
        all = false
        break
      end
    end
    if all then
      headers:remove(SETTINGS.lane_header)
      headers:add(SETTINGS.lane_header, rule.lane)
      handle:streamInfo():dynamicMetadata():set("lanectx", "rule", rule.name)
      return
    end
  end
end
"""
