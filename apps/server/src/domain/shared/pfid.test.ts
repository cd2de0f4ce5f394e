import { describe, expect, it } from "vitest";
import { PFID_PATTERN } from "@spyglass/contracts";
import { decodePfid, generatePfid } from "./pfid.js";

const zeros = new Uint8Array(10);

describe("PFID", () => {
  it("matches the reference vectors of the spec", () => {
    expect(generatePfid(0, 0, zeros)).toBe("00000000000000000000000000000000");
    expect(generatePfid(1, 1, zeros)).toBe("00000000010000010000000000000000");
    expect(decodePfid("013xrzp12g3nqk8ndr93q068mw7y0nv0")).toEqual({ timestampMs: 1234567890000, partition: 123456789 });
    expect(generatePfid(123456789, 1234567890000).slice(0, 16)).toBe("013xrzp12g3nqk8n");
  });

  it("produces valid ids that sort by time", () => {
    const a = generatePfid(42, 1_700_000_000_000);
    const b = generatePfid(42, 1_700_000_000_001);
    expect(a).toMatch(PFID_PATTERN);
    expect(a < b).toBe(true);
    expect(decodePfid(a).partition).toBe(42);
  });

  it("rejects partitions wider than 30 bits", () => {
    expect(() => generatePfid(2 ** 30)).toThrow(RangeError);
  });
});
