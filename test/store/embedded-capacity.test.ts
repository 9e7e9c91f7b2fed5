/**
 * The start-up warning when the embedded store's data will not fit in the heap (src/store/embedded/capacity.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dataFileBytes, heapWarning } from '../../src/store/embedded/capacity';

const GB = 2 ** 30;

describe('heap capacity of the embedded store', () => {
  test('data files are measured by their size; other files and a missing directory count as nothing', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'capacity-'));
    try {
      writeFileSync(path.join(dir, 'users.db'), 'x'.repeat(3000));
      writeFileSync(path.join(dir, 'audit.db'), 'y'.repeat(1000));
      writeFileSync(path.join(dir, 'notes.txt'), 'z'.repeat(5000));
      expect(dataFileBytes(dir)).toBe(4000);
      expect(dataFileBytes(path.join(dir, 'missing'))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('1M users (1.6 GB of files) under a 4 GB heap: a warning that names the flag to set and MongoDB', () => {
    const warning = heapWarning(1.6 * GB, 4 * GB);
    expect(warning).toMatch(/needs about 3\d{3} MB of heap once loaded, and this process may use 4096 MB/);
    expect(warning).toMatch(/--max-old-space-size=8192/);
    expect(warning).toContain('MONGODB_URI');
  });

  test('100k users (190 MB of files) under the same heap, or 1M under a 16 GB one: no warning', () => {
    expect(heapWarning(190 * 2 ** 20, 4 * GB)).toBeUndefined();
    expect(heapWarning(1.6 * GB, 16 * GB)).toBeUndefined();
  });
});
