// Turning a project's effective config (one JSON object) into `.env` lines, for apps that read
// their settings from the environment: `checkout.enabled` → `CHECKOUT_ENABLED=true`. Strings are
// written as they are (in double quotes, with `\\`, `"` and newlines escaped, when they need
// quoting), everything else as JSON.

/** `feature.flag-x` → `FEATURE_FLAG_X` */
export function envName(key: string): string {
  return key.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

function envValue(value: unknown): string {
  const raw = typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[A-Za-z0-9_./:@+-]*$/.test(raw)) return raw;
  return `"${raw.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** The `.env` text of an effective config, keys sorted. */
export function toDotEnv(values: Record<string, unknown>): string {
  return Object.keys(values)
    .sort()
    .map((k) => `${envName(k)}=${envValue(values[k])}`)
    .join('\n')
    .concat(Object.keys(values).length ? '\n' : '');
}
