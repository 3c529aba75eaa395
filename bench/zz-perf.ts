import { crc32c } from '../lib/log/crc32c.js';
import { decodeRecordBatch, encodeRecordBatch, type RecordInput } from '../lib/log/record-batch.js';
function makeRecords(count: number, valueSize: number): RecordInput[] {
  let seed = 42;
  const next = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed; };
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
  const start = 1_700_000_000_000;
  return Array.from({ length: count }, (_, i) => {
    let text = `{"id":${i},"user":"user-${next() % 10_000}","amount":${next() % 100_000},"tags":[`;
    while (text.length < valueSize) text += `"${words[next() % words.length]}",`;
    return { key: Buffer.from(`key-${String(i).padStart(6, '0')}`), value: Buffer.from(text.slice(0, valueSize)), timestamp: start + i + (next() % 5) };
  });
}
const records = makeRecords(1000, 100);
const ours = encodeRecordBatch(records);
const spans = decodeRecordBatch(ours).records.flatMap((r) => [r.key!.byteOffset - ours.byteOffset, r.key!.length, r.value!.byteOffset - ours.byteOffset, r.value!.length]);
const out = Buffer.allocUnsafe(ours.length);
const View = (() => class extends Uint8Array {})();
let sink = 0;
const jobs: Record<string, () => void> = {
  encode: () => { sink += encodeRecordBatch(records).length; },
  encodeFloor: () => { let pos = 61; for (const r of records) { out.set(r.key!, pos); pos += r.key!.length; out.set(r.value!, pos); pos += r.value!.length; } sink += crc32c(out.subarray(0, pos)); },
  decode: () => { for (const r of decodeRecordBatch(ours).records) sink += r.value!.length; },
  decodeFloor: () => { ours.copy(out); sink += crc32c(out.subarray(21)); },
  floorViews: () => { ours.copy(out); sink += crc32c(out.subarray(21)); const ab = out.buffer; const b = out.byteOffset; for (let i = 0; i < spans.length; i += 2) sink += new View(ab, b + spans[i]!, spans[i + 1]!).length; },
};
const names = Object.keys(jobs);
const best: Record<string, number> = {};
for (const n of names) { for (let i = 0; i < 2000; i++) jobs[n]!(); best[n] = Infinity; }
for (let pass = 0; pass < 15; pass++) for (const n of names) {
  const it = 300; const s = process.hrtime.bigint(); for (let i = 0; i < it; i++) jobs[n]!(); const t = Number(process.hrtime.bigint() - s) / it;
  if (t < best[n]!) best[n] = t;
}
for (const n of names) console.log(n.padEnd(12), (best[n]! / 1000).toFixed(1), 'µs');
console.log('decode/floorViews', (best.decode! / best.floorViews!).toFixed(3), 'decode/floor', (best.decode! / best.decodeFloor!).toFixed(2), 'encode/floor', (best.encode! / best.encodeFloor!).toFixed(3), sink > 0);
