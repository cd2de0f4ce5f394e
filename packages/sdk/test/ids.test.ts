import { describe, expect, it } from "vitest";
import { isoNow, pfid } from "../src/ids.js";

describe("client-chosen ids", () => {
  it("are PFIDs the server accepts: the reference layout of timestamp and partition, unique within a millisecond", () => {
    // The spec's example: timestamp 1234567890000 and partition 123456789 lead "013xrzp12g3nqk8n".
    expect(pfid(123456789, 1234567890000).slice(0, 16)).toBe("013xrzp12g3nqk8n");
    expect(pfid(1, 1).slice(0, 16)).toBe("0000000001000001");
    const ids = Array.from({ length: 10_000 }, () => pfid(7, 1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 100)) expect(id).toMatch(/^[0-7][0-9abcdefghjkmnpqrstvwxyz]{31}$/);
  });
});

describe("timestamps", () => {
  it("match toISOString for every millisecond, across second, day and year boundaries", () => {
    for (const start of [Date.UTC(2026, 11, 31, 23, 59, 59, 990), Date.UTC(2024, 1, 29, 0, 0, 0, 0), 0]) {
      for (let ms = start; ms < start + 30; ms++) expect(isoNow(ms)).toBe(new Date(ms).toISOString());
    }
  });
});
