/**
 * scimmy's PatchOp, applied with RFC 7644 §3.5.2.3's rule for a `replace` through a value filter that matches
 * nothing: "the service provider SHALL indicate failure by returning HTTP status code 400 and a scimType error code of
 * noTarget". scimmy's replace removes the matched values and adds the new one through the same filter; when that finds
 * nothing it adds the value to the attribute instead, so `emails[value eq "nobody@x"]` appended a new email. A path
 * that goes on past the filter (`emails[type eq "work"].value`) is refused by scimmy itself, once the Entra upsert
 * (quirks.ts, `filteredPathUpserts`) has had its say.
 */
import SCIMMY from 'scimmy';
import type { Json } from './json';
import type { PatchOperation } from './patch-paths';
import { PATCH_OP } from './schema';

/** A scimmy resource class (`SCIMMY.Schemas.User`), as PatchOp#apply takes an instance of it. */
type ResourceClass = new (resource: object, direction: 'out') => object;

/** `emails[value eq "x"]`: the attribute and the filter of a path that ends in a value filter. */
const ENDS_IN_FILTER = /^([A-Za-z][\w-]*)\[(.+)\]$/;

/**
 * `operations` (in scimmy's spelling, patch-paths.ts) applied to `resource` as an instance of `Resource`: the patched
 * resource, or `undefined` when nothing changed (as `PatchOp#apply`). A `replace` whose path ends in a value filter is
 * checked against the resource as the operations before it left it; one that matches no value throws scimmy's
 * `400 noTarget`, numbered like scimmy's own errors.
 */
export async function appliedPatch(Resource: ResourceClass, resource: Json, operations: PatchOperation[]): Promise<Json | undefined> {
  let patched: Json | undefined;
  let applied = 0;
  const applyUpTo = async (end: number) => {
    if (end === applied) return;
    const step = new SCIMMY.Messages.PatchOp({ schemas: [PATCH_OP], Operations: operations.slice(applied, end) as never });
    try {
      patched = ((await step.apply(new Resource(patched ?? resource, 'out') as never)) as Json | undefined) ?? patched;
    } catch (error) {
      throw renumbered(error, applied);
    }
    applied = end;
  };
  for (let i = 0; i < operations.length; i++) {
    const { op, path } = operations[i];
    const filtered = op.toLowerCase() === 'replace' && typeof path === 'string' ? ENDS_IN_FILTER.exec(path) : null;
    if (!filtered) continue;
    await applyUpTo(i);
    const [, attribute, filter] = filtered;
    const values = (patched ?? resource)[attribute];
    if (!Array.isArray(values) || new SCIMMY.Types.Filter(filter).match(values).length === 0) {
      throw new SCIMMY.Types.Error(400, 'noTarget', `Filter '${path}' does not match any values for 'replace' op of operation ${i + 1} in PatchOp request body`);
    }
  }
  await applyUpTo(operations.length);
  return patched;
}

/** A scimmy error of a run of operations starting after `offset`, numbered as in the whole list. */
function renumbered(error: unknown, offset: number): unknown {
  if (offset > 0 && error instanceof Error) {
    error.message = error.message.replace(/op of operation (\d+)/, (_whole, n: string) => `op of operation ${Number(n) + offset}`);
  }
  return error;
}
