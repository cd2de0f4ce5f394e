import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe("loadConfig", () => {
  it("has sensible defaults", () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.SPYGLASS_DATA_DIR).toBe("./.spyglass");
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.JSON_BODY_LIMIT_BYTES).toBe(5 * 1024 * 1024);
    expect(config.SPAN_VALIDATION).toBe("record");
  });

  it("names the bad variable in one line", () => {
    expect(() => loadConfig({ PORT: "abc" })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: "abc" })).toThrow(/^invalid configuration: PORT: .*"abc"/);
    expect(() => loadConfig({ PORT: "70000" })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: "mysql://x" })).toThrow(/^invalid configuration: DATABASE_URL: /);
    expect(() => loadConfig({ SPAN_VALIDATION: "lenient" })).toThrow(/SPAN_VALIDATION/);
  });

  it("never echoes secrets in its errors", () => {
    try {
      loadConfig({ SPYGLASS_ADMIN_TOKEN: "short" });
      expect.unreachable();
    } catch (error) {
      expect(String(error)).toMatch(/SPYGLASS_ADMIN_TOKEN/);
      expect(String(error)).not.toMatch(/short/);
    }
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ PORT: "", DATABASE_URL: "" }).PORT).toBe(3000);
  });
});
