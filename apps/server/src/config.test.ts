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

  it("takes TRUST_PROXY as a hop count or a list of addresses, subnets and named ranges", () => {
    for (const ok of ["1", "loopback", "10.0.0.0/8, 192.168.1.1", "loopback,::1/128"]) expect(loadConfig({ TRUST_PROXY: ok }).TRUST_PROXY).toBe(ok);
    for (const bad of ["yes", "10.0.0.300", "loopback/8", "1.2.3.4/8/9", "true"]) expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY/);
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

  it("serves metrics only when METRICS_PORT is set, on loopback unless told, never on the API's port", () => {
    expect(loadConfig({}).METRICS_PORT).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: "9464" })).toMatchObject({ METRICS_PORT: 9464, METRICS_HOST: "127.0.0.1" });
    expect(() => loadConfig({ PORT: "9464", METRICS_PORT: "9464" })).toThrow(/^invalid configuration: METRICS_PORT: must differ from PORT/);
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ PORT: "", DATABASE_URL: "" }).PORT).toBe(3000);
  });
});
