/**
 * The one way a config or setting value given as text becomes a number. Kafka's ConfigDef
 * parses integers with Java's Long.parseLong: an optional sign, then decimal digits, nothing
 * else. JavaScript's Number() also accepts "0x10", "0b101", "1e3", "5." and " 7 ", so a typo
 * became a 16 ms retention; everything here goes through this instead.
 */

const DECIMAL_INTEGER = /^[-+]?[0-9]+$/;

export type StrictInteger =
  | { ok: true; value: number }
  | { ok: false; reason: 'not-an-integer' | 'too-large' };

/**
 * A decimal integer from a JSON number or a string of digits. A value that is not exact as a
 * double (beyond 2^53) is refused rather than rounded: rounding would store a different number
 * than the one asked for, and values that large pass every range we have anyway.
 */
export function parseStrictInteger(raw: unknown): StrictInteger {
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw)) return { ok: false, reason: 'not-an-integer' };
    return Number.isSafeInteger(raw)
      ? { ok: true, value: raw }
      : { ok: false, reason: 'too-large' };
  }
  if (typeof raw !== 'string' || !DECIMAL_INTEGER.test(raw)) {
    return { ok: false, reason: 'not-an-integer' };
  }
  const value = Number(raw);
  return Number.isSafeInteger(value) ? { ok: true, value } : { ok: false, reason: 'too-large' };
}

/** An integer within [min, max], or a message saying why not, naming the setting. */
export function strictIntegerInRange(
  name: string,
  raw: unknown,
  min: number,
  max: number,
): { ok: true; value: number } | { ok: false; message: string } {
  const parsed = parseStrictInteger(raw);
  const range = `from ${min} to ${max}`;
  if (!parsed.ok || parsed.value < min || parsed.value > max) {
    return {
      ok: false,
      message: `${name} must be a decimal integer ${range}, got ${JSON.stringify(raw) ?? String(raw)}`,
    };
  }
  return parsed;
}

/** Java's Integer.MAX_VALUE: the bound Kafka puts on its int-typed settings (timeouts, intervals). */
export const MAX_JAVA_INT = 2_147_483_647;
