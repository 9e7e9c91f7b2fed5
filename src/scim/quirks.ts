/**
 * IdP quirks, normalised before scimmy sees a request (STYLE.md habit 9). One function per deviation, each with
 * the payload before and after; each leaves a well-formed RFC request exactly as it was.
 */
import { withPrimaryNamed } from './multi-valued';
import { isObject } from './json';
import { ENTERPRISE_USER } from './schema';

const BOOLEAN_STRING = /^(true|false)$/i;
const toBoolean = (value: unknown) => (typeof value === 'string' && BOOLEAN_STRING.test(value) ? value.toLowerCase() === 'true' : value);
const ACTIVE_PATH = /^(urn:ietf:params:scim:schemas:core:2\.0:User:)?active$/i;
const PRIMARY_PATH = /\.primary$/i;

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
    else if (withPrimaryNamed(key) && Array.isArray(out[key])) {
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
 * `{"op":"replace","path":"emails[type eq \"work\"].primary","value":"True"}` → `value: true`;
 * `{"op":"Add","path":"roles","value":[{"value":"Admin","primary":"True"}]}` → `primary: true` (Entra app roles).
 */
export function booleanStringsInPatch<T>(body: T): T {
  if (body === null || typeof body !== 'object' || !Array.isArray((body as { Operations?: unknown }).Operations)) return body;
  const operations = (body as unknown as { Operations: unknown[] }).Operations.map((operation) => {
    if (operation === null || typeof operation !== 'object') return operation;
    const { path, value } = operation as { path?: unknown; value?: unknown };
    if (typeof path === 'string' && (ACTIVE_PATH.test(path) || PRIMARY_PATH.test(path))) return { ...operation, value: toBoolean(value) };
    if (path === undefined && isObject(value)) {
      return { ...operation, value: booleanStringsInUser(value) };
    }
    const multi = typeof path === 'string' ? withPrimaryNamed(path.trim()) : undefined;
    if (multi && value !== null && typeof value === 'object') {
      // The collection's values as a user body would carry them.
      const values = (booleanStringsInUser({ [multi]: Array.isArray(value) ? value : [value] }) as Record<string, unknown>)[multi];
      return { ...operation, value: Array.isArray(value) ? values : (values as unknown[])[0] };
    }
    return operation;
  });
  return { ...(body as object), Operations: operations } as T;
}

type Operation = { op?: unknown; path?: unknown; value?: unknown };
const operationsOf = (body: unknown): unknown[] | undefined =>
  isObject(body) && Array.isArray(body.Operations) ? (body.Operations as unknown[]) : undefined;
/** Rebuilds `body` with each operation mapped; the same object when nothing changed. */
function mapOperations<T>(body: T, map: (operation: Operation) => Operation): T {
  const operations = operationsOf(body);
  if (!operations) return body;
  let changed = false;
  const mapped = operations.map((operation) => {
    if (!isObject(operation)) return operation;
    const next = map(operation);
    changed ||= next !== operation;
    return next;
  });
  return changed ? ({ ...(body as object), Operations: mapped } as T) : body;
}

const MANAGER_PATH = /^(?:urn:ietf:params:scim:schemas:extension:enterprise:2\.0:User:)?manager$/i;
const MANAGER_FILTER_PATH = /^(?:urn:ietf:params:scim:schemas:extension:enterprise:2\.0:User:)?manager\[\s*value\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\]$/i;
const wrapManager = (value: unknown) => (typeof value === 'string' ? { value } : value);

/**
 * Entra writes the enterprise `manager` as a bare id, and sometimes without the extension URN (IDP-BEHAVIOR.md §0.3,
 * E30; scimmy answers `400 invalidValue` / `invalidPath`):
 * `{"op":"Add","path":"urn:…:enterprise:2.0:User:manager","value":"271"}` →
 * `{"op":"Add","path":"urn:…:enterprise:2.0:User:manager","value":{"value":"271"}}`;
 * `{"op":"Replace","path":"manager","value":"271"}` → the same with the full path;
 * `{"op":"Remove","path":"manager[value eq \"271\"]"}` → `path: "urn:…:User:manager[value eq \"271\"]"` (then
 * {@link managerValueFilter}); pathless `{"urn:…:User:manager":"271"}` and `{"urn:…:User":{"manager":"271"}}` values
 * get `{"value":"271"}`. A manager already sent as `{"value": …}` is left as it is.
 */
export function managerStringInPatch<T>(body: T): T {
  return mapOperations(body, (operation) => {
    const { path, value } = operation;
    if (typeof path === 'string') {
      if (MANAGER_PATH.test(path)) {
        const fullPath = `${ENTERPRISE_USER}:manager`;
        const wrapped = wrapManager(value);
        return path === fullPath && wrapped === value ? operation : { ...operation, path: fullPath, ...(value !== undefined ? { value: wrapped } : {}) };
      }
      const filtered = MANAGER_FILTER_PATH.exec(path);
      if (filtered && !path.toLowerCase().startsWith('urn:')) return { ...operation, path: `${ENTERPRISE_USER}:${path}` };
      return operation;
    }
    if (path !== undefined || !isObject(value)) return operation;
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      if (key.toLowerCase() === `${ENTERPRISE_USER}:manager`.toLowerCase() && typeof v === 'string') {
        out[key] = { value: v };
        changed = true;
      } else if (key.toLowerCase() === ENTERPRISE_USER.toLowerCase() && isObject(v)) {
        const managerKey = Object.keys(v).find((k) => k.toLowerCase() === 'manager');
        if (managerKey && typeof v[managerKey] === 'string') {
          out[key] = { ...v, [managerKey]: { value: v[managerKey] } };
          changed = true;
        } else out[key] = v;
      } else out[key] = v;
    }
    return changed ? { ...operation, value: out } : operation;
  });
}

/**
 * `{"op":"Remove","path":"urn:…:enterprise:2.0:User:manager[value eq \"271\"]"}` (Entra via scim-patch users,
 * IDP-BEHAVIOR.md D.1 #6, E31) on the singular `manager`: scimmy removes the manager whatever id the filter names.
 * Applied to the current resource, the operation becomes `{"op":"Remove","path":"urn:…:User:manager"}` when the
 * manager's value is that id (exact match, ids are case-exact), and is dropped when it is not (nothing to remove).
 * Returns the same array when no operation has that form.
 */
export function managerValueFilter(resource: Record<string, unknown>, operations: readonly unknown[]): unknown[] {
  const current = isObject(resource[ENTERPRISE_USER]) ? (resource[ENTERPRISE_USER] as Record<string, unknown>).manager : undefined;
  const currentId = isObject(current) ? current.value : undefined;
  let changed = false;
  const out: unknown[] = [];
  for (const operation of operations) {
    const { op, path } = isObject(operation) ? (operation as Operation) : {};
    const filtered = typeof op === 'string' && op.toLowerCase() === 'remove' && typeof path === 'string' ? MANAGER_FILTER_PATH.exec(path) : null;
    if (!filtered) {
      out.push(operation);
      continue;
    }
    changed = true;
    const id = JSON.parse(`"${filtered[1]}"`) as string;
    if (currentId === id) out.push({ ...(operation as object), path: `${ENTERPRISE_USER}:manager` });
  }
  return changed ? out : (operations as unknown[]);
}

/** `emails[type eq "work"].value`: attribute, filter sub-attribute, filter value, target sub-attribute. */
const FILTERED_PATH = /^(emails|phoneNumbers|addresses|ims|photos)\[\s*(type)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\]\.([A-Za-z][\w-]*)$/i;
const CANONICAL: Record<string, string> = { emails: 'emails', phonenumbers: 'phoneNumbers', addresses: 'addresses', ims: 'ims', photos: 'photos' };

/**
 * Entra upserts through filtered paths (IDP-BEHAVIOR.md §0.2, E27, E28):
 * `{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@x.com"}` on a user with no work email is
 * `400 noTarget` under RFC 7644 §3.5.2.3 (and in scimmy); Entra and its validator expect the entry to be created.
 * Applied to the current resource before the PATCH: for each `add`/`replace` whose path is
 * `emails|phoneNumbers|addresses|ims|photos[type eq "<t>"].<sub>` and no element has `type` equal to `<t>`, an element
 * `{"type":"<t>"}` is appended, so the operation then sets `<sub>` on it:
 * `{"emails":[{"value":"a@home","type":"home"}]}` → `{"emails":[{"value":"a@home","type":"home"},{"type":"work"}]}`.
 * Other entries are never touched; when a matching element exists (the well-formed case) the resource is returned
 * unchanged, the same object.
 */
export function filteredPathUpserts<T extends Record<string, unknown>>(resource: T, operations: readonly unknown[]): T {
  let out = resource;
  for (const operation of operations) {
    if (!isObject(operation)) continue;
    const { op, path } = operation as Operation;
    if (typeof op !== 'string' || !['add', 'replace'].includes(op.toLowerCase()) || typeof path !== 'string') continue;
    const match = FILTERED_PATH.exec(path.trim());
    if (!match) continue;
    const attribute = CANONICAL[match[1].toLowerCase()];
    const type = JSON.parse(`"${match[3]}"`) as string;
    const existing = Array.isArray(out[attribute]) ? (out[attribute] as unknown[]) : [];
    if (existing.some((element) => isObject(element) && element.type === type)) continue;
    out = { ...out, [attribute]: [...existing, { type }] };
  }
  return out;
}

const MEMBERS_PATH = /^(?:urn:ietf:params:scim:schemas:core:2\.0:Group:)?members$/i;

/**
 * One group member as Entra and hand-written clients send it (IDP-BEHAVIOR.md E52; the Entra reference collection):
 * a bare id `"u1"` → `{"value":"u1"}`; mixed-case keys `{"Value":"u1","Display":"Ada"}` → `{"value":"u1","display":"Ada"}`;
 * `{"value":"u1","displayName":"Ada"}` → `{"value":"u1","display":"Ada"}` (only when no `display` is given).
 * `{"value":"u1","display":"Ada"}` and `$ref: null` are left as they are.
 */
export function groupMember(member: unknown): unknown {
  if (typeof member === 'string') return { value: member };
  if (!isObject(member)) return member;
  const names: Record<string, string> = { value: 'value', display: 'display', type: 'type', $ref: '$ref' };
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(member)) {
    const name = names[key.toLowerCase()];
    if (name && name !== key) changed = true;
    out[name ?? key] = v;
  }
  const alias = Object.keys(out).find((k) => k.toLowerCase() === 'displayname');
  if (alias && out.display === undefined && typeof out[alias] === 'string') {
    out.display = out[alias];
    delete out[alias];
    changed = true;
  }
  return changed ? out : member;
}

const groupMembers = (value: unknown) => {
  const list = Array.isArray(value) ? value : [value];
  const mapped = list.map(groupMember);
  return mapped.some((m, i) => m !== list[i]) || !Array.isArray(value) ? mapped : value;
};

/**
 * Group PATCH: `{"op":"Add","path":"members","value":"u1"}` or `"value":["u1","u2"]` →
 * `"value":[{"value":"u1"},{"value":"u2"}]`, and each member object through {@link groupMember}; also in the
 * pathless form `{"op":"add","value":{"members":[…]}}`. A value that is already an array of `{value}` objects is
 * left as it is (a single object stays a single object: the router reads it as a list of one).
 */
export function membersInGroupPatch<T>(body: T): T {
  return mapOperations(body, (operation) => {
    const { path, value } = operation;
    if (typeof path === 'string' && MEMBERS_PATH.test(path.trim()) && value !== undefined && value !== null) {
      if (isObject(value)) {
        const member = groupMember(value);
        return member === value ? operation : { ...operation, value: member };
      }
      const members = groupMembers(value);
      return members === value ? operation : { ...operation, value: members };
    }
    if (path === undefined && isObject(value)) {
      const key = Object.keys(value).find((k) => k.toLowerCase() === 'members');
      if (key && Array.isArray(value[key])) {
        const members = groupMembers(value[key]);
        return members === value[key] ? operation : { ...operation, value: { ...value, [key]: members } };
      }
    }
    return operation;
  });
}

/** Group POST/PUT bodies: `members` through {@link groupMember}; the same object when nothing changes. */
export function membersInGroup<T>(body: T): T {
  if (!isObject(body)) return body;
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'members');
  if (!key || !Array.isArray(body[key])) return body;
  const members = groupMembers(body[key]);
  return members === body[key] ? body : ({ ...body, [key]: members } as T);
}

/**
 * Value filters in `attributes` / `excludedAttributes` (the Entra reference collection sends
 * `attributes=emails[type eq "work"]`). RFC 7644 §3.4.2.5 lists attribute names only, so the bracketed filter has no
 * defined meaning there; it is dropped and the whole attribute selected: `emails[type eq "work"],userName` →
 * `emails,userName`. A list without brackets is returned unchanged.
 */
export function valueFiltersInAttributeList(text: string): string {
  if (!text.includes('[')) return text;
  let out = '';
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (depth > 0) {
      if (inString && c === '\\') i++;
      else if (c === '"') inString = !inString;
      else if (!inString && c === '[') depth++;
      else if (!inString && c === ']') depth--;
      continue;
    }
    if (c === '[') depth = 1;
    else out += c;
  }
  // An unbalanced bracket is left for the guard to refuse.
  return depth === 0 && !inString ? out : text;
}

/**
 * Nulls for attributes the client does not set (E19; Entra's documentation sample): RFC 7644 §3.5.1 reads null as
 * "unassigned", but scimmy refuses null for multi-valued attributes.
 * `{"userName":"a","title":null,"phoneNumbers":null,"name":{"formatted":null,"givenName":"A"}}` →
 * `{"userName":"a","name":{"givenName":"A"}}`. Nested objects (complex attributes, extensions) are cleaned one level
 * down; values inside multi-valued attributes are left to validation.
 */
export function nullsAsUnassigned<T>(body: T): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (value === null) {
      changed = true;
      continue;
    }
    if (isObject(value) && Object.values(value).some((v) => v === null)) {
      changed = true;
      out[key] = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
      continue;
    }
    out[key] = value;
  }
  return changed ? (out as T) : body;
}
