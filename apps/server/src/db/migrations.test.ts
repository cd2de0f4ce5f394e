import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { listMigrations, migrationsUpToDate } from "./migrations.js";

const recorded = () =>
  listMigrations().migrationDirectories.map((m) => ({
    name: m.path,
    checksum: createHash("sha256").update(m.migrationFile.content.tag === "ok" ? m.migrationFile.content.value : "").digest("hex"),
  }));

describe("migrationsUpToDate", () => {
  it("is true only when every committed migration is recorded with its checksum", () => {
    const all = recorded();
    expect(all.length).toBeGreaterThan(0);
    expect(migrationsUpToDate(all)).toBe(true);
    expect(migrationsUpToDate([])).toBe(false);
    expect(migrationsUpToDate(all.slice(0, -1))).toBe(false);
    expect(migrationsUpToDate(all.map((m, i) => (i === all.length - 1 ? { ...m, checksum: "0".repeat(64) } : m)))).toBe(false);
    expect(migrationsUpToDate([...all, { name: "29990101000000_from_a_newer_build", checksum: "x" }])).toBe(true);
  });
});
