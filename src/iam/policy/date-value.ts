// Dates for the Date* operators: epoch seconds, or the W3C profile of ISO 8601 that AWS documents
// (2024, 2024-06, 2024-06-01, 2024-06-01T12:30Z, 2024-06-01T12:30:45.5+02:00). A time without a
// zone designator is taken as UTC. All-digit values are epoch seconds (so "2024" is 1970 plus 2024 s).
const W3C_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?([Zz]|[+-]\d{2}:\d{2})?)?)?)?$/;
const EPOCH_SECONDS = /^-?\d+$/;

/** Milliseconds since the epoch, or undefined if the text is not such a date. */
export function parseDate(text: string): number | undefined {
  if (EPOCH_SECONDS.test(text)) return Number(text) * 1000;
  const m = W3C_DATE.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2] ?? '01', m[3] ?? '01', m[4] ?? '00', m[5] ?? '00', m[6] ?? '00'].map(Number);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const fraction = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  // A month or day out of range would roll over into another date.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  let ms = date.getTime() + ((hour * 60 + minute) * 60 + second) * 1000 + fraction;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const offset = (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
    ms += zone[0] === '+' ? -offset : offset;
  }
  return ms;
}
