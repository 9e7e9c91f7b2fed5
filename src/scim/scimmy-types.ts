/**
 * What this server reads of scimmy's schema definitions and attributes (scimmy 1.3.5): the shapes its public typings
 * do not declare, described once for the modules that walk a schema (coerce.ts, patch-paths.ts, schema.ts).
 */
import SCIMMY from 'scimmy';

/** A scimmy `Attribute`. */
export interface ScimmyAttribute {
  name: string;
  type: string;
  config: { required?: boolean; multiValued?: boolean; caseExact?: boolean; canonicalValues?: unknown; direction?: string; returned?: unknown };
  subAttributes?: ScimmyAttribute[];
  coerce(source: unknown, direction?: string, isComplexMultiValue?: boolean): unknown;
}

/** A scimmy `SchemaDefinition`: a resource's schema, whose attributes include its extensions' definitions. */
export interface ScimmyDefinition {
  id: string;
  name: string;
  required?: boolean;
  attributes: Array<ScimmyAttribute | ScimmyDefinition>;
}

export const isDefinition = (a: unknown): a is ScimmyDefinition => a instanceof SCIMMY.Types.SchemaDefinition;
export const isAttribute = (a: unknown): a is ScimmyAttribute => a instanceof SCIMMY.Types.Attribute;
