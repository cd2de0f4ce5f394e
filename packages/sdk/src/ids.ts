// Client-chosen ids: the server accepts a PFID as the id of a run or span it creates, so the SDK
// can name everything before anything is sent, and a resent request names the same things.
// PFID = 160 bits as 32 Crockford base32 chars: 48-bit unix-ms timestamp (10 chars) | 30-bit
// partition (6 chars) | 80 random bits (16 chars).
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const POOL_SIZE = 4096;

let pool = new Uint8Array(0);
let offset = POOL_SIZE;

function randomBytes(count: number): Uint8Array {
  // One getRandomValues call per few hundred ids: the call, not the bytes, is what costs.
  if (offset + count > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + count);
  offset += count;
  return bytes;
}

/** A random 30-bit partition; one per SDK instance keeps its ids close together in the server's indexes. */
export function randomPartition(): number {
  const b = randomBytes(4);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) & 0x3fffffff;
}

/** The timestamp and partition chars of the last id: ids minted in the same millisecond share them. */
let lastMs = -1;
let lastPartition = -1;
let lastPrefix = "";

function prefix(partition: number, timestampMs: number): string {
  if (timestampMs === lastMs && partition === lastPartition) return lastPrefix;
  let out = "";
  let ts = timestampMs;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ts % 32]! + out;
    ts = Math.floor(ts / 32);
  }
  let p = partition;
  let part = "";
  for (let i = 0; i < 6; i++) {
    part = ALPHABET[p & 31]! + part;
    p >>>= 5;
  }
  lastMs = timestampMs;
  lastPartition = partition;
  lastPrefix = out + part;
  return lastPrefix;
}

const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));
const suffix: number[] = new Array<number>(16);

export function pfid(partition: number, timestampMs = Date.now()): string {
  // 16 chars of 5 random bits each; 256 is a multiple of 32, so `& 31` keeps them uniform.
  const bytes = randomBytes(16);
  for (let i = 0; i < 16; i++) suffix[i] = CODES[bytes[i]! & 31]!;
  return prefix(partition, timestampMs) + String.fromCharCode(...suffix);
}

let isoSecond = -1;
let isoPrefix = "";

/**
 * Date.now() as ISO 8601. Spans start and end many times per second, and toISOString() was one
 * of the larger costs of recording one: the part up to the second is reused while it holds.
 */
export function isoNow(ms = Date.now()): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const millis = ms - second * 1000;
  return `${isoPrefix}${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`;
}
