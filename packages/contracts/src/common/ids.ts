import { z } from "../zod.js";

export const PFID_PATTERN = /^[0-7][0-9abcdefghjkmnpqrstvwxyz]{31}$/;

export const PfidSchema = z
  .string()
  .regex(PFID_PATTERN, "must be a PFID: 32 lowercase Crockford base32 characters")
  .openapi("Pfid", { example: "013xrzp12g3nqk8ndr93q068mw7y0nv0" });

/** Ids in paths and filters are looked up as given (AgentVista runs keep their UUIDs). */
export const IdParamSchema = z.string().min(1).max(128);

/** Without a zone a timestamp is read as UTC, in both dialects. */
export const TimestampSchema = z.iso
  .datetime({ offset: true, local: true })
  .openapi({ example: "2024-01-01T00:00:00Z", description: "ISO 8601; without a zone offset it is read as UTC" });
