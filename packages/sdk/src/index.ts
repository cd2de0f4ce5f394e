export { Spyglass, Run, Span } from "./tracer.js";
export type { SpyglassOptions, SpanOptions, SpanTypeDefinition, Usage, RunOptions, Outcome } from "./tracer.js";
export { SpyglassError, type SpyglassErrorKind } from "./errors.js";
export type { SenderStats } from "./sender.js";
