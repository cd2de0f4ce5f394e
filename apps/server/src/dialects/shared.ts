import type { PayloadValidation } from "@spyglass/contracts";

/** Timestamps go out as UTC ISO 8601 with a Z. */
export function iso(date: Date): string;
export function iso(date: Date | null | undefined): string | null;
export function iso(date: Date | null | undefined): string | null {
  return date ? date.toISOString() : null;
}

const UNCHECKED: PayloadValidation = { status: "unchecked", errors: [] };

/** A span's stored validation verdict; rows written before validation existed read as unchecked. */
export function validationOf(stored: unknown): PayloadValidation {
  return (stored as PayloadValidation | null) ?? UNCHECKED;
}
