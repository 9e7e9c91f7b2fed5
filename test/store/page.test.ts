/** One page and its true total (src/store/page.ts): counted only when the page cannot tell it. */
import { openEmbeddedStore } from '../../src/store/embedded';
import { findPage } from '../../src/store/page';
import type { Collection, Query, Store } from '../../src/store/port';
import type { GroupDoc } from '../../src/store/documents';

let store: Store;
let counted = 0;
let groups: Collection<GroupDoc>;

beforeAll(async () => {
  store = await openEmbeddedStore();
  const now = new Date();
  for (let i = 0; i < 7; i++) {
    await store.groups.insertOne({ _id: `g${i}`, orgId: i < 5 ? 'o1' : 'o2', displayName: `G${i}`, displayNameKey: `g${i}`, version: 1, created: now, lastModified: now } as unknown as GroupDoc);
  }
  const count = store.groups.count.bind(store.groups);
  groups = Object.assign(Object.create(store.groups) as Collection<GroupDoc>, { count: (q: Query) => (counted++, count(q)) });
});
afterAll(() => store.close());
beforeEach(() => {
  counted = 0;
});

const ids = (docs: ReadonlyArray<{ _id: string }>) => docs.map((d) => d._id);

test.each([
  ['a short first page', 0, 10, ['g0', 'g1', 'g2', 'g3', 'g4'], false],
  ['a short last page', 3, 10, ['g3', 'g4'], false],
  ['a full page', 0, 2, ['g0', 'g1'], true],
  ['a page that ends exactly with the results', 3, 2, ['g3', 'g4'], true],
  ['a page past the end', 9, 2, [], true],
  ['the total only (limit 0)', 0, 0, [], true],
])('%s: documents, true total, counted only when needed', async (_name, skip, limit, expected, counts) => {
  const page = await findPage(groups, { orgId: 'o1' }, { _id: 1 }, skip, limit);
  expect(ids(page.docs)).toEqual(expected);
  expect(page.total).toBe(5);
  expect(counted).toBe(counts ? 1 : 0);
});

test('no match at all: total 0 without counting', async () => {
  const page = await findPage(groups, { orgId: 'nobody' }, { _id: 1 }, 0, 10);
  expect(page).toEqual({ total: 0, docs: [] });
  expect(counted).toBe(0);
});

describe('a sort field some documents lack (RFC 7644 §3.4.2.3: last when ascending, first when descending)', () => {
  let sparse: Store;
  beforeAll(async () => {
    sparse = await openEmbeddedStore();
    const titles = ['b', undefined, 'a', null, 'c', '', 'a'];
    for (const [i, title] of titles.entries()) {
      await sparse.groups.insertOne({ _id: `u${i}`, orgId: 'o', displayNameKey: `u${i}`, ...(title === undefined ? {} : { externalId: title }) } as unknown as GroupDoc);
    }
  });
  afterAll(() => sparse.close());

  test.each([
    ['ascending', 1, ['u2', 'u6', 'u0', 'u4', 'u1', 'u3', 'u5']],
    ['descending', -1, ['u1', 'u3', 'u5', 'u4', 'u0', 'u2', 'u6']],
  ] as const)('%s: every page of every size joins into that order, with the true total', async (_name, direction, order) => {
    for (const limit of [1, 2, 3, 7, 10]) {
      const seen: string[] = [];
      for (let skip = 0; skip < 8; skip += limit) {
        const page = await findPage(sparse.groups, { orgId: 'o' }, { externalId: direction, _id: 1 }, skip, limit, 'externalId');
        expect(page.total).toBe(7);
        seen.push(...ids(page.docs));
      }
      expect(seen).toEqual(order);
    }
  });
});
