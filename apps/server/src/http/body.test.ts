import { describe, expect, it } from "vitest";
import { AppError } from "../domain/shared/app-error.js";
import { checkJsonText, MAX_JSON_DEPTH } from "./body.js";

describe("checkJsonText", () => {
  it("leaves ordinary JSON untouched (the same string, not a copy)", () => {
    const text = '{"a":[1,{"b":"c\\"d\\\\"}],"e":"\\u00e9\\ud83d\\ude00"}';
    expect(checkJsonText(text)).toBe(text);
  });

  it("accepts nesting up to the limit and refuses one level more", () => {
    const nest = (n: number) => "[".repeat(n) + "]".repeat(n);
    expect(() => checkJsonText(nest(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => checkJsonText(nest(MAX_JSON_DEPTH + 1))).toThrow(AppError);
    expect(() => checkJsonText('{"a":'.repeat(10_000))).toThrow(/deeper than 128/);
  });

  it("does not count brackets inside strings", () => {
    expect(() => checkJsonText(`{"a":"${"[".repeat(1000)}"}`)).not.toThrow();
    expect(() => checkJsonText(`{"a":"\\"${"{".repeat(1000)}"}`)).not.toThrow();
  });

  it("replaces \\u0000 and unpaired surrogates, which PostgreSQL cannot store, by U+FFFD", () => {
    expect(JSON.parse(checkJsonText('{"a\\u0000":"x\\u0000y"}'))).toEqual({ "a\uFFFD": "x\uFFFDy" });
    expect(JSON.parse(checkJsonText('["\\ud800", "\\udc00x", "\\ud800\\u0041", "\\uD83D\\uDE00"]'))).toEqual([
      "\uFFFD",
      "\uFFFDx",
      "\uFFFDA",
      "\u{1F600}",
    ]);
  });

  it("keeps an escaped backslash followed by u0000 as text", () => {
    const text = '["\\\\u0000"]';
    expect(checkJsonText(text)).toBe(text);
    expect(JSON.parse(text)).toEqual(["\\u0000"]);
  });

  it("leaves malformed escapes for JSON.parse to reject", () => {
    expect(() => JSON.parse(checkJsonText('["\\u00"]'))).toThrow(SyntaxError);
    expect(() => JSON.parse(checkJsonText('["\\uzzzz"]'))).toThrow(SyntaxError);
  });
});
