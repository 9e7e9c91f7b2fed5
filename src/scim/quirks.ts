/**
 * IdP quirks, normalised before scimmy sees a request (STYLE.md habit 9). One function per deviation, each with
 * the payload before and after; each leaves a well-formed RFC request exactly as it was.
 */

const BOOLEAN_STRING = /^(true|false)$/i;
const toBoolean = (value: unknown) => (typeof value === 'string' && BOOLEAN_STRING.test(value) ? value.toLowerCase() === 'true' : value);
const ACTIVE_PATH = /^(urn:ietf:params:scim:schemas:core:2\.0:User:)?active$/i;
const PRIMARY_PATH = /\.primary$/i;
/** Multi-valued complex User attributes whose elements carry a boolean `primary`. */
const WITH_PRIMARY = ['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509Certificates'];

/**
 * Entra ID sends booleans as strings (IDP-BEHAVIOR.md E18, E38, E39):
 * `{"active": "True", "emails": [{"primary": "true", ...}]}` → `{"active": true, "emails": [{"primary": true, ...}]}`.
 * Only the exact words true/false (any case) on boolean attributes are converted; anything else stays as sent and
 * is refused by validation as before.
 */
export function booleanStringsInUser<T>(body: T): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const out: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const key of Object.keys(out)) {
    if (key.toLowerCase() === 'active') out[key] = toBoolean(out[key]);
    const multi = WITH_PRIMARY.find((name) => name.toLowerCase() === key.toLowerCase());
    if (multi && Array.isArray(out[key])) {
      out[key] = (out[key] as unknown[]).map((element) =>
        element !== null && typeof element === 'object' && 'primary' in element ? { ...element, primary: toBoolean((element as { primary: unknown }).primary) } : element,
      );
    }
  }
  return out as T;
}

/**
 * The same quirk in PATCH: `{"op":"Replace","path":"active","value":"False"}` → `{"op":"Replace","path":"active",
 * "value":false}`; `{"op":"replace","value":{"active":"False"}}` → `{"op":"replace","value":{"active":false}}`;
 * `{"op":"replace","path":"emails[type eq \"work\"].primary","value":"True"}` → `value: true`.
 */
export function booleanStringsInPatch<T>(body: T): T {
  if (body === null || typeof body !== 'object' || !Array.isArray((body as { Operations?: unknown }).Operations)) return body;
  const operations = (body as unknown as { Operations: unknown[] }).Operations.map((operation) => {
    if (operation === null || typeof operation !== 'object') return operation;
    const { path, value } = operation as { path?: unknown; value?: unknown };
    if (typeof path === 'string' && (ACTIVE_PATH.test(path) || PRIMARY_PATH.test(path))) return { ...operation, value: toBoolean(value) };
    if (path === undefined && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return { ...operation, value: booleanStringsInUser(value) };
    }
    return operation;
  });
  return { ...(body as object), Operations: operations } as T;
}
