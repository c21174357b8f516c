import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import { keepData, type Kept } from './kept.ts';

const offline = new ApiError('NETWORK', 'offline');

describe('keepData', () => {
  it('keeps a settled answer through a passing failure of its own refetch', () => {
    let kept: Kept<string> | null = null;
    ({ kept } = keepData(kept, { data: 'alpha results' }, 'q=alpha'));
    const failed = keepData(kept, { error: offline }, 'q=alpha');
    expect(failed.data).toBe('alpha results');
    expect(failed.refreshError?.code).toBe('NETWORK');
  });

  it('never shows the previous search as the answer to a new one that failed', () => {
    let kept: Kept<string> | null = null;
    ({ kept } = keepData(kept, { data: 'alpha results' }, 'q=alpha'));
    // New variables: urql hands out the previous data while it fetches.
    const loading = keepData(kept, { data: 'alpha results', fetching: true }, 'q=beta');
    expect(loading.kept?.key).toBe('q=alpha');
    const failed = keepData(loading.kept, { error: offline }, 'q=beta');
    expect(failed.data).toBeUndefined();
    expect(failed.refreshError).toBeNull();
  });

  it('drops data when the error says it is gone for good', () => {
    const { kept } = keepData<string>(null, { data: 'project' }, 'p1');
    expect(keepData(kept, { error: new ApiError('NOT_FOUND', 'gone') }, 'p1').data).toBeUndefined();
  });
});
