import { decodeRecordBatch, encodeRecordBatch, type RecordInput } from '../lib/log/record-batch.js';
const records: RecordInput[] = Array.from({ length: 1000 }, (_, i) => ({ key: Buffer.from(`key-${String(i).padStart(6, '0')}`), value: Buffer.alloc(100, 65 + (i % 20)), timestamp: 1_700_000_000_000 + i }));
const ours = encodeRecordBatch(records);
let sink = 0;
const mode = process.argv[2];
const t = Date.now();
while (Date.now() - t < 4000) {
  if (mode === 'decode') for (const r of decodeRecordBatch(ours).records) sink += r.value!.length;
  else sink += encodeRecordBatch(records).length;
}
console.log(sink > 0);
