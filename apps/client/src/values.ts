// Config values are JSON: how apps check what a person typed, and show values.

/** `text` as JSON, or the reason it is not (a sentence to show next to the field). */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text.trim() === '') return { ok: false, error: 'Enter a JSON value, e.g. true, 42, "text" or {"a": 1}.' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, error: `Not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** Indented JSON (`null` for undefined). */
export function prettyJson(v: unknown): string {
  return JSON.stringify(v, null, 2) ?? 'null';
}

/** One-line JSON, cut at `max` characters. */
export function compactJson(v: unknown, max = 60): string {
  const s = JSON.stringify(v) ?? 'null';
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
