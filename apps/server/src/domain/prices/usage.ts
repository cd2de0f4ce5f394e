// Model and token counts in a Prefactor span's payloads, from the shapes the common SDKs write:
// `model`, `token_usage.{prompt,completion,total}_tokens` (OpenAI-style) and
// `usage.{input,output}_tokens` (Anthropic-style, also `usage.prompt_tokens`...).

const INT_MAX = 2_147_483_647;

export interface SpanUsage {
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
}

type Json = Record<string, unknown>;
const object = (value: unknown): Json | null => (value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : null);

function tokens(...values: unknown[]): number | null {
  for (const v of values) if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= INT_MAX) return v;
  return null;
}

/** What the payloads say, the result's over the payload's; null when they say nothing of it. */
export function usageOf(...payloads: (Json | null | undefined)[]): SpanUsage | null {
  let model: string | null = null;
  let input: number | null = null;
  let output: number | null = null;
  let total: number | null = null;
  for (const p of payloads) {
    if (!p) continue;
    if (typeof p.model === "string" && p.model.length > 0) model = p.model.slice(0, 255);
    const t = object(p.token_usage);
    const u = object(p.usage);
    input = tokens(t?.prompt_tokens, u?.input_tokens, u?.prompt_tokens) ?? input;
    output = tokens(t?.completion_tokens, u?.output_tokens, u?.completion_tokens) ?? output;
    total = tokens(t?.total_tokens, u?.total_tokens) ?? total;
  }
  if (model === null && input === null && output === null && total === null) return null;
  const counted = input !== null || output !== null;
  const sum = (input ?? 0) + (output ?? 0);
  return { model, inputTokens: input, outputTokens: output, totalTokens: total ?? (counted && sum <= INT_MAX ? sum : null) };
}
