/**
 * The size of a DynamoDB item as DynamoDB bills it (write units per started KB, read units
 * per started 4 KB): per attribute, the UTF-8 length of its name plus its value's size.
 * Strings: UTF-8 bytes; binary: bytes; numbers: one byte per significant base-100 digit plus one
 * (at most 21); booleans and null: 1; lists and maps: 3 plus their elements, plus one per
 * element (and a map's element names). AWS documents these rules ("Item sizes and formats");
 * the bench uses them to report the sizes behind the write units it measures.
 */
export function dynamoItemBytes(item: Record<string, unknown>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name) + valueBytes(value);
  }
  return bytes;
}

function valueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint') return numberBytes(value);
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) {
    let sum = 0;
    for (const v of value) sum += valueBytes(v);
    return sum;
  }
  if (Array.isArray(value)) return 3 + value.reduce((s: number, v) => s + 1 + valueBytes(v), 0);
  if (typeof value === 'object') {
    let sum = 3;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      sum += 1 + Buffer.byteLength(k) + valueBytes(v);
    }
    return sum;
  }
  return 0;
}

/**
 * DynamoDB stores a number as base-100 digits: one byte per significant pair of decimal
 * digits (pairs aligned on the decimal point), plus one; at most 21.
 */
export function numberBytes(value: number | bigint): number {
  const text =
    typeof value === 'bigint' || Number.isInteger(value)
      ? BigInt(value).toString()
      : value.toFixed(20).replace(/0+$/, '');
  const [whole = '', fraction = ''] = text.replace(/^-/, '').split('.');
  const digits =
    (whole.length % 2 === 1 ? `0${whole}` : whole) +
    (fraction.length % 2 === 1 ? `${fraction}0` : fraction);
  const pairs = (digits.match(/../g) ?? []).join(',').replace(/^(00,)+|(,00)+$/g, '');
  const count = pairs === '' || pairs === '00' ? 0 : pairs.split(',').length;
  return Math.min(21, Math.max(1, count) + 1);
}
