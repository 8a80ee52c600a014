/**
 * Field encryption throughput, printed (not asserted): `npm run bench:phi -- [records]`.
 * Compares v1 (`encryptField`: a data key and a wrap per field) with v2 (`createRecordCipher`: one
 * data key per record) for records of 15 synthetic field values, encrypt and decrypt.
 */
import { randomBytes } from 'node:crypto';
import {
  createKeyring,
  createRecordCipher,
  decryptField,
  encryptField,
  fieldKeyCacheStats,
} from '@ehrflow/phi';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(`usage: npm run bench:phi -- [records (4000)]

Field encryption throughput, printed: v1 (a data key and a wrap per field) against v2 (one data
key per record), encrypt and decrypt, for records of 15 synthetic values. No stack needed.`);
  process.exit(0);
}
const RECORDS = Number(process.argv[2] ?? '4000');
const FIELDS = 15;
const ring = createKeyring([['bench', randomBytes(32)]]);
const record = Array.from({ length: FIELDS }, (_, i) => `synthetic-value-${i}-${'x'.repeat(i * 2)}`);

function measure(label: string, run: () => void): void {
  for (let i = 0; i < Math.min(200, RECORDS); i++) run(); // warm-up
  const started = performance.now();
  for (let i = 0; i < RECORDS; i++) run();
  const seconds = (performance.now() - started) / 1000;
  const perSecond = (n: number): string =>
    Math.round(n / seconds)
      .toLocaleString('en-US')
      .padStart(9);
  console.log(`${label.padEnd(12)} ${perSecond(RECORDS * FIELDS)} fields/s ${perSecond(RECORDS)} records/s`);
}

const v1Sample = record.map((v) => encryptField(ring, v));
const v2Cipher = createRecordCipher(ring);
const v2Sample = record.map((v) => v2Cipher.encrypt(v));
// Decrypting one sample over and over would hit the key cache every time after the first; give
// every iteration its own record, as the redactor sees them.
const v2Records = Array.from({ length: RECORDS + 200 }, () => {
  const cipher = createRecordCipher(ring);
  return record.map((v) => cipher.encrypt(v));
});
let next = 0;

console.log(`${RECORDS} records x ${FIELDS} fields (node ${process.version})`);
measure('v1 encrypt', () => record.forEach((v) => encryptField(ring, v)));
measure('v2 encrypt', () => {
  const cipher = createRecordCipher(ring);
  record.forEach((v) => cipher.encrypt(v));
});
measure('v1 decrypt', () => v1Sample.forEach((s) => decryptField(ring, s)));
measure('v2 decrypt', () =>
  (v2Records[next++ % v2Records.length] ?? v2Sample).forEach((s) => decryptField(ring, s)),
);
measure('v2 (cached)', () => v2Sample.forEach((s) => decryptField(ring, s)));
const cache = fieldKeyCacheStats();
console.log(`key cache: size ${cache.size}/${cache.capacity}, hits ${cache.hits}, misses ${cache.misses}`);
console.log(
  `field size, ${record[0]?.length ?? 0}-char value: v1 ${v1Sample[0]?.length ?? 0} chars, v2 ${v2Sample[0]?.length ?? 0} chars`,
);
