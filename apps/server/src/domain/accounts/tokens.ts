import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const ALL_SCOPES = ["read", "write", "admin"] as const;
export type Scope = (typeof ALL_SCOPES)[number];

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Constant-time comparison of two hex digests. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A fresh secret: a cosmetic prefix ("av_" for AgentVista keys) and 256 random bits in hex. */
export function newSecret(prefix: "av_" | "sg_"): string {
  return prefix + randomBytes(32).toString("hex");
}

/** What may be shown of a secret after creation (e.g. "av_a1b2c3d4"). */
export function displayPrefix(secret: string): string {
  return secret.slice(0, 11);
}
