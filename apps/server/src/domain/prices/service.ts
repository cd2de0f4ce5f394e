import type { Prisma } from "../../db/database.js";
import type { SpanUsageColumns } from "../../model/rows.js";
import type { SpanWrite } from "../../repositories/traces.js";
import { modelPricesRepository, type ModelPriceOverrideRow } from "../../repositories/model-prices.js";
import { notFound } from "../shared/app-error.js";
import { generatePfid } from "../shared/pfid.js";
import type { AuthContext } from "../accounts/service.js";
import { PRICE_TABLE, type ModelPrice } from "./table.js";
import type { SpanUsage } from "./usage.js";

/** What pricing reads and writes of a span. */
export type Priceable = Pick<SpanWrite, "id" | "model" | "inputTokens" | "outputTokens" | "costUsd" | "costComputed" | "startedAt">;



/** How long a process reuses an account's overrides before reading them again (other replicas' changes). */
const OVERRIDES_TTL_MS = 10_000;

/** The name a price pattern is matched against: lower case, without a provider or route prefix. */
export function modelKey(model: string): string {
  let key = model.trim().toLowerCase();
  key = key.slice(key.lastIndexOf("/") + 1);
  // Bedrock's "anthropic.claude-..." and "us.anthropic.claude-...".
  const bedrock = key.indexOf("anthropic.");
  if (bedrock !== -1) key = key.slice(bedrock + "anthropic.".length);
  return key;
}

function matches(pattern: string, key: string): boolean {
  const p = pattern.toLowerCase();
  if (!p.includes("*")) return p === key;
  const parts = p.split("*");
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (i === 0) {
      if (!key.startsWith(part)) return false;
      at = part.length;
    } else if (i === parts.length - 1) {
      return key.length - part.length >= at && key.endsWith(part);
    } else {
      const found = key.indexOf(part, at);
      if (found === -1) return false;
      at = found + part.length;
    }
  }
  return true;
}

/** An exact name beats any pattern; among patterns, the one with more fixed characters. */
const specificity = (pattern: string) => (pattern.includes("*") ? pattern.replace(/\*/g, "").length : 1_000_000);

/**
 * The price of `model` at `at`: the most specific matching pattern that has an entry effective by
 * then, its latest such entry. `overrides` (an account's) are looked at before the shipped table.
 */
export function priceOf(model: string, at: Date, overrides: readonly ModelPrice[] = []): ModelPrice | null {
  const key = modelKey(model);
  const day = at.toISOString().slice(0, 10);
  for (const table of [overrides, PRICE_TABLE]) {
    const candidates = table
      .filter((e) => matches(e.pattern, key) && e.effectiveFrom <= day)
      .sort((a, b) => specificity(b.pattern) - specificity(a.pattern) || (a.effectiveFrom < b.effectiveFrom ? 1 : a.effectiveFrom > b.effectiveFrom ? -1 : 0));
    if (candidates[0]) return candidates[0];
  }
  return null;
}

/** USD per million tokens as micro-dollars (exact: prices have at most 6 decimals). */
function micros(perMillion: string): bigint {
  const [whole, fraction = ""] = perMillion.split(".");
  return BigInt(whole!) * 1_000_000n + BigInt(fraction.padEnd(6, "0").slice(0, 6));
}

/** The cost in USD (decimal text, 6 places, rounded half up) of a call's tokens at `price`. */
export function costOf(price: ModelPrice, input: number, output: number, cachedInput = 0): string {
  const cached = BigInt(Math.min(cachedInput, input));
  const fresh = BigInt(input) - cached;
  const cachedPrice = micros(price.cachedInputPerMillion ?? price.inputPerMillion);
  // tokens x micro-dollars per million tokens = 1e-12 USD.
  const picos = fresh * micros(price.inputPerMillion) + cached * cachedPrice + BigInt(output) * micros(price.outputPerMillion);
  const usdMicros = (picos + 500_000n) / 1_000_000n;
  return `${usdMicros / 1_000_000n}.${(usdMicros % 1_000_000n).toString().padStart(6, "0")}`;
}

function fromRow(row: ModelPriceOverrideRow): ModelPrice & { id: string } {
  return {
    id: row.id,
    pattern: row.modelPattern,
    provider: row.provider ?? "custom",
    inputPerMillion: row.inputPerMillion,
    outputPerMillion: row.outputPerMillion,
    cachedInputPerMillion: row.cachedInputPerMillion,
    effectiveFrom: row.effectiveFrom,
  };
}

export type PriceOverride = ModelPrice & { id: string };

/** Prices spans at ingest, whichever way they came in, and keeps the accounts' overrides. */
export class PriceService {
  private readonly cache = new Map<string, { at: number; prices: PriceOverride[] }>();
  constructor(private readonly prisma: Prisma) {}

  async overrides(accountId: string, now = Date.now()): Promise<PriceOverride[]> {
    const hit = this.cache.get(accountId);
    if (hit && now - hit.at < OVERRIDES_TTL_MS) return hit.prices;
    const prices = (await modelPricesRepository.list(this.prisma, accountId)).map(fromRow);
    this.cache.set(accountId, { at: now, prices });
    return prices;
  }

  /**
   * Sets the cost of every span that has a model and tokens but no reported cost, from the price
   * valid at the span's start, and marks it computed. `cachedInput` gives a span's input tokens
   * read from a prompt cache, where its client said.
   */
  async price(accountId: string, spans: Priceable[], cachedInput: (span: Priceable) => number | null = () => null): Promise<void> {
    const unpriced = spans.filter((s) => s.costUsd === null && s.model !== null && (s.inputTokens !== null || s.outputTokens !== null));
    if (unpriced.length === 0) return;
    const overrides = await this.overrides(accountId);
    for (const span of unpriced) {
      const price = priceOf(span.model!, new Date(span.startedAt), overrides);
      if (!price) continue;
      span.costUsd = costOf(price, span.inputTokens ?? 0, span.outputTokens ?? 0, cachedInput(span) ?? 0);
      span.costComputed = true;
    }
  }

  /** A span's usage priced: the cost and whether it was computed (null when there is no price). */
  async priceUsage(accountId: string, usage: SpanUsage, startedAt: Date): Promise<SpanUsageColumns> {
    const write: Priceable = { id: "", model: usage.model, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, costUsd: null, costComputed: false, startedAt: startedAt.toISOString() };
    await this.price(accountId, [write]);
    return { ...usage, costUsd: write.costUsd, costComputed: write.costComputed };
  }

  async createOverride(auth: AuthContext, input: Omit<ModelPrice, "provider"> & { provider: string | null }): Promise<PriceOverride> {
    const row = await modelPricesRepository.create(this.prisma, {
      id: generatePfid(auth.partition),
      accountId: auth.accountId,
      modelPattern: input.pattern,
      provider: input.provider,
      inputPerMillion: input.inputPerMillion,
      outputPerMillion: input.outputPerMillion,
      cachedInputPerMillion: input.cachedInputPerMillion,
      effectiveFrom: input.effectiveFrom,
    });
    this.cache.delete(auth.accountId);
    return fromRow(row);
  }

  async deleteOverride(auth: AuthContext, id: string): Promise<void> {
    if (!(await modelPricesRepository.delete(this.prisma, auth.accountId, id))) throw notFound("model price");
    this.cache.delete(auth.accountId);
  }

  listOverrides(auth: AuthContext): Promise<PriceOverride[]> {
    return this.overrides(auth.accountId, Number.NEGATIVE_INFINITY);
  }
}
