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

  it("ends on unterminated strings and stray backslashes, leaving them to JSON.parse", () => {
    for (const text of ['{"a":"b', '{"a":"b\\', '["\\u12', '["x\\"]', '"\\', '{"a\\":1}']) {
      expect(typeof checkJsonText(text)).toBe("string");
      expect(() => JSON.parse(checkJsonText(text))).toThrow(SyntaxError);
    }
  });

  it("agrees with a character-by-character reading on random JSON-like text", () => {
    // The reference: the plain loop the scanner replaced (depth and \u0000 / lone surrogates).
    const reference = (text: string): { depth: number; out: string } => {
      let depth = 0, max = 0, inString = false, out = "";
      for (let i = 0; i < text.length; i++) {
        const c = text[i]!;
        if (inString) {
          if (c === '"') inString = false;
          else if (c === "\\") {
            if (text[i + 1] !== "u") { out += c + (text[i + 1] ?? ""); i++; continue; }
            const hex = (at: number) => (/^[0-9a-fA-F]{4}$/.test(text.slice(at, at + 4)) ? parseInt(text.slice(at, at + 4), 16) : -1);
            const code = hex(i + 2);
            let length = 6;
            let bad = code === 0 || (code >= 0xdc00 && code <= 0xdfff);
            if (code >= 0xd800 && code <= 0xdbff) {
              const low = text[i + 6] === "\\" && text[i + 7] === "u" ? hex(i + 8) : -1;
              if (low >= 0xdc00 && low <= 0xdfff) length = 12;
              else bad = true;
            }
            if (bad) length = 6;
            out += bad ? "\\ufffd" : text.slice(i, i + length);
            i += length - 1;
            continue;
          }
        } else if (c === '"') inString = true;
        else if (c === "{" || c === "[") max = Math.max(max, ++depth);
        else if (c === "}" || c === "]") depth--;
        out += c;
      }
      return { depth: max, out };
    };
    const pieces = ['"', "\\", "\\u0000", "\\ud800", "\\udc00", "\\uD83D\\uDE00", "\\u00e9", "\\n", "{", "}", "[", "]", "a", ":", ",", "\\u12"];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let n = 0; n < 2000; n++) {
      let text = "";
      const len = next() % 40;
      for (let k = 0; k < len; k++) text += pieces[next() % pieces.length];
      const ref = reference(text);
      if (ref.depth > MAX_JSON_DEPTH) continue;
      expect(checkJsonText(text), JSON.stringify(text)).toBe(ref.out);
    }
  });

  it("leaves malformed escapes for JSON.parse to reject", () => {
    expect(() => JSON.parse(checkJsonText('["\\u00"]'))).toThrow(SyntaxError);
    expect(() => JSON.parse(checkJsonText('["\\uzzzz"]'))).toThrow(SyntaxError);
  });
});
