import { describe, expect, it } from 'vitest';
import { envName, toDotEnv } from './env.ts';

describe('toDotEnv', () => {
  it('names keys as environment variables and writes values a .env reader takes back', () => {
    expect(envName('checkout.enabled')).toBe('CHECKOUT_ENABLED');
    expect(envName('feature.flag-x_y')).toBe('FEATURE_FLAG_X_Y');
    expect(
      toDotEnv({ 'b.url': 'https://x.example/a?b=c d', 'a.on': true, limits: { max: 3 }, n: 12, s: 'say "hi"\nbye', nil: null }),
    ).toBe(
      [
        'A_ON=true',
        'B_URL="https://x.example/a?b=c d"',
        'LIMITS="{\\"max\\":3}"',
        'N=12',
        'NIL=null',
        'S="say \\"hi\\"\\nbye"',
        '',
      ].join('\n'),
    );
    expect(toDotEnv({})).toBe('');
  });
});
