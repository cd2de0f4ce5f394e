// The model price table shipped with the server: list prices in USD per million tokens, from the
// providers' public price pages. A model's price is the entry whose pattern matches its name most
// specifically and whose effective_from is the latest on or before the span's start. A new price
// is a new entry with its own effective_from (never an edit of an old one), so costs computed
// for older spans stay reproducible. Accounts override entries through the API (model_prices).

/** Bumped whenever an entry is added. */
export const PRICE_TABLE_VERSION = "2026-11-30";

export interface ModelPrice {
  /** A model name, or a pattern with `*` for any run of characters (e.g. `gpt-4o-2024-*`); case-insensitive. */
  pattern: string;
  provider: string;
  inputPerMillion: string;
  outputPerMillion: string;
  /** Price of input tokens read from the provider's prompt cache; null = billed as input. */
  cachedInputPerMillion: string | null;
  /** YYYY-MM-DD (UTC). */
  effectiveFrom: string;
}

const p = (provider: string, pattern: string, input: string, output: string, cached: string | null, effectiveFrom = "2024-01-01"): ModelPrice => ({
  pattern,
  provider,
  inputPerMillion: input,
  outputPerMillion: output,
  cachedInputPerMillion: cached,
  effectiveFrom,
});

export const PRICE_TABLE: readonly ModelPrice[] = [
  // OpenAI
  p("openai", "gpt-4o*", "2.50", "10.00", "1.25", "2024-10-01"),
  p("openai", "gpt-4o-2024-05-13", "5.00", "15.00", null),
  p("openai", "gpt-4o-mini*", "0.15", "0.60", "0.075", "2024-07-18"),
  p("openai", "gpt-4.1*", "2.00", "8.00", "0.50", "2025-04-14"),
  p("openai", "gpt-4.1-mini*", "0.40", "1.60", "0.10", "2025-04-14"),
  p("openai", "gpt-4.1-nano*", "0.10", "0.40", "0.025", "2025-04-14"),
  p("openai", "gpt-5*", "1.25", "10.00", "0.125", "2025-08-07"),
  p("openai", "gpt-5-mini*", "0.25", "2.00", "0.025", "2025-08-07"),
  p("openai", "gpt-5-nano*", "0.05", "0.40", "0.005", "2025-08-07"),
  p("openai", "o1*", "15.00", "60.00", "7.50", "2024-12-17"),
  p("openai", "o3*", "2.00", "8.00", "0.50", "2025-06-10"),
  p("openai", "o3-mini*", "1.10", "4.40", "0.55", "2025-01-31"),
  p("openai", "o4-mini*", "1.10", "4.40", "0.275", "2025-04-16"),
  p("openai", "gpt-4-turbo*", "10.00", "30.00", null),
  p("openai", "gpt-3.5-turbo*", "0.50", "1.50", null),
  p("openai", "text-embedding-3-small", "0.02", "0", null),
  p("openai", "text-embedding-3-large", "0.13", "0", null),
  // Anthropic (cached input = cache reads)
  p("anthropic", "claude-3-5-sonnet*", "3.00", "15.00", "0.30"),
  p("anthropic", "claude-3-7-sonnet*", "3.00", "15.00", "0.30", "2025-02-24"),
  p("anthropic", "claude-sonnet-4*", "3.00", "15.00", "0.30", "2025-05-22"),
  p("anthropic", "claude-3-5-haiku*", "0.80", "4.00", "0.08"),
  p("anthropic", "claude-haiku-4*", "1.00", "5.00", "0.10", "2025-10-15"),
  p("anthropic", "claude-3-opus*", "15.00", "75.00", "1.50"),
  p("anthropic", "claude-opus-4*", "15.00", "75.00", "1.50", "2025-05-22"),
  p("anthropic", "claude-opus-4-5*", "5.00", "25.00", "0.50", "2025-11-24"),
  // Google (prompts up to 200k tokens)
  p("google", "gemini-1.5-pro*", "1.25", "5.00", "0.3125"),
  p("google", "gemini-1.5-flash*", "0.075", "0.30", "0.01875"),
  p("google", "gemini-2.0-flash*", "0.10", "0.40", "0.025", "2025-02-05"),
  p("google", "gemini-2.5-pro*", "1.25", "10.00", "0.125", "2025-06-17"),
  p("google", "gemini-2.5-flash*", "0.30", "2.50", "0.03", "2025-06-17"),
  p("google", "gemini-2.5-flash-lite*", "0.10", "0.40", "0.01", "2025-07-22"),
  // Mistral
  p("mistral", "mistral-large*", "2.00", "6.00", null),
  p("mistral", "mistral-medium*", "0.40", "2.00", null, "2025-05-07"),
  p("mistral", "mistral-small*", "0.10", "0.30", null),
  p("mistral", "codestral*", "0.30", "0.90", null),
  p("mistral", "ministral-8b*", "0.10", "0.10", null),
  p("mistral", "open-mistral-nemo*", "0.15", "0.15", null),
  p("mistral", "mistral-embed", "0.10", "0", null),
];
