import { describe, expect, it } from 'vitest';
import { diffLines } from './diff.ts';

describe('diffLines', () => {
  it('keeps common lines and marks the rest', () => {
    const a = JSON.stringify({ a: 1, b: 2, c: 3 }, null, 2);
    const b = JSON.stringify({ a: 1, b: 5, c: 3 }, null, 2);
    expect(diffLines(a, b)).toEqual([
      { op: ' ', text: '{' },
      { op: ' ', text: '  "a": 1,' },
      { op: '-', text: '  "b": 2,' },
      { op: '+', text: '  "b": 5,' },
      { op: ' ', text: '  "c": 3' },
      { op: ' ', text: '}' },
    ]);
    expect(diffLines('true', 'true')).toEqual([{ op: ' ', text: 'true' }]);
  });
});
