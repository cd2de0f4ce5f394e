/**
 * Which side of a compared row wins: 0, 1, or null for a tie, a missing value or a row without a
 * direction. Where zero means "nothing reported" (cost and tokens of an agent whose runs report
 * none), a zero cannot win: an agent that sends no usage is not the cheaper one.
 */
export function winner(a: number | null, b: number | null, better?: "higher" | "lower", zeroIsUnreported = false): 0 | 1 | null {
  if (!better || a === null || b === null || a === b) return null;
  if (zeroIsUnreported && (a === 0 || b === 0)) return null;
  return (better === "higher") === a > b ? 0 : 1;
}
