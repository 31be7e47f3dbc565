/**
 * Many short strings (post ids, terms) sent to a Redis script as one argument instead of one argument each: `length:text`
 * per string, the length in UTF-8 bytes (what Lua's string.sub counts), so any text — commas, colons — packs safely.
 * The packer and the Lua unpacker live together here so the two store scripts cannot drift apart.
 */
export function packNames(names: Iterable<string>): string {
  let text = '';
  for (const name of names) text += `${Buffer.byteLength(name)}:${name}`;
  return text;
}

/** A Lua function `unpackNames(text)` → the list of strings packNames packed; paste it at the top of a script. */
export const LUA_UNPACK_NAMES = `
local function unpackNames(text)
  local out, at, n = {}, 1, 0
  local size = #text
  while at <= size do
    local colon = string.find(text, ':', at, true)
    local len = tonumber(string.sub(text, at, colon - 1))
    n = n + 1
    out[n] = string.sub(text, colon + 1, colon + len)
    at = colon + len + 1
  end
  return out
end
`;
