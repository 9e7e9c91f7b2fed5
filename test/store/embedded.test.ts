import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openEmbeddedStore } from '../../src/store/embedded';
import { describeStoreContract, makeOrg, makeUser } from './contract';

describeStoreContract('embedded (in memory)', () => openEmbeddedStore());

describe('embedded store on disk', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'scim-store-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('data written before close is found again after reopening the same dataDir, unique indexes still enforced', async () => {
    const first = await openEmbeddedStore({ dataDir: dir });
    await first.organizations.insertOne(makeOrg('o1', 3));
    await first.users.insertOne(makeUser('u1', { userNameKey: 'alice' }));
    await first.organizations.updateOne({ _id: 'o1' }, { $inc: { seats: -1 } });
    await first.users.deleteOne({ _id: 'nobody' });
    await first.close();

    const second = await openEmbeddedStore({ dataDir: dir });
    try {
      const user = await second.users.findOne({ userNameKey: 'alice' });
      expect(user).toEqual(makeUser('u1', { userNameKey: 'alice' }));
      expect(user!.created).toBeInstanceOf(Date);
      expect((await second.organizations.findOne({ _id: 'o1' }))?.seats).toBe(2);
      await expect(second.users.insertOne(makeUser('u2', { userNameKey: 'alice' }))).rejects.toMatchObject({ name: 'DuplicateKeyError' });
    } finally {
      await second.close();
    }
  });
});
