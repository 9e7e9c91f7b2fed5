/** Request bodies as JSON.parse gives them. */

/** A JSON object. */
export type Json = Record<string, unknown>;

/** Whether `value` is a JSON object: not null, not an array. */
export const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);
