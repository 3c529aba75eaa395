import { EventLogError } from '../log/errors.js';

/** Small conversions the routes share. */

/** A query or path integer already checked to be digits; must also be exact as a double. */
export function integer(name: string, digits: string): number {
  const value = Number(digits);
  if (!Number.isSafeInteger(value)) {
    throw new EventLogError(
      'INVALID_REQUEST',
      `${name} must be an integer below 2^53 (9007199254740992), got ${digits}`,
      { details: { [name]: digits } },
    );
  }
  return value;
}

export function optionalInteger(name: string, digits: string | undefined): number | undefined {
  return digits === undefined ? undefined : integer(name, digits);
}

export function withDefined<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}
