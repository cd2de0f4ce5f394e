import { randomBytes, randomInt } from "node:crypto";

// PFID: 160 bits as 32 Crockford base32 chars = 48-bit unix-ms timestamp (10 chars, the first
// holding 3 bits) | 30-bit partition (6 chars) | 80 random bits (16 chars). Sorts by time.
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

function encode(value: bigint, chars: number): string {
  let out = "";
  for (let i = 0; i < chars; i++) {
    out = ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

export const MAX_PARTITION = 2 ** 30 - 1;

export function randomPartition(): number {
  return randomInt(0, MAX_PARTITION + 1);
}

export function generatePfid(partition: number, timestampMs = Date.now(), random: Uint8Array = randomBytes(10)): string {
  if (!Number.isInteger(partition) || partition < 0 || partition > MAX_PARTITION) {
    throw new RangeError("partition must be a 30-bit unsigned integer");
  }
  let rand = 0n;
  for (const byte of random.subarray(0, 10)) rand = (rand << 8n) | BigInt(byte);
  return encode(BigInt(timestampMs) & ((1n << 48n) - 1n), 10) + encode(BigInt(partition), 6) + encode(rand, 16);
}

export function decodePfid(id: string): { timestampMs: number; partition: number } {
  let value = 0n;
  for (const ch of id) value = (value << 5n) | BigInt(ALPHABET.indexOf(ch));
  return { timestampMs: Number(value >> 110n), partition: Number((value >> 80n) & ((1n << 30n) - 1n)) };
}
