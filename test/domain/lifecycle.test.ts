import { decideDeprovision, decideEntitlement, decideProvision, initialState, sameState, type LifecycleState } from '../../src/domain/lifecycle';
import { decideLogin } from '../../src/domain/sso';
import { assertKeepsActiveAdmin, canReadWorkspace, personView } from '../../src/domain/content';

const licensed = (over: Partial<LifecycleState> = {}): LifecycleState => ({ managed: true, accountStatus: 'active', siteAccess: 'active', license: 'licensed', ...over });

describe('the SCIM → domain mapping (DESIGN.md §3)', () => {
  test.each([
    ['managed, policy account', licensed(), 'account', { accountStatus: 'deactivated', siteAccess: 'active', license: 'revoked' }, { releaseSeat: true, revokeSessions: true }],
    ['managed, policy enterprise', licensed(), 'enterprise', { accountStatus: 'active', siteAccess: 'active', license: 'revoked' }, { releaseSeat: true, revokeSessions: false }],
    ['unmanaged, either policy', licensed({ managed: false }), 'account', { accountStatus: 'active', siteAccess: 'suspended', license: 'revoked' }, { releaseSeat: true, revokeSessions: false }],
  ] as const)('active:false on a %s account', (_name, state, deprovision, next, effects) => {
    const d = decideDeprovision(state, { deprovision });
    expect(d.next).toMatchObject(next);
    expect(d.effects).toMatchObject({ ...effects, wantSeat: false });
    expect(d.action).toBeDefined();
  });

  test('two states are the same only when every part is (a write is made for any difference)', () => {
    expect(sameState(licensed(), licensed())).toBe(true);
    for (const over of [{ managed: false }, { accountStatus: 'deactivated' }, { siteAccess: 'suspended' }, { license: 'free' }] as const) {
      expect([over, sameState(licensed(), licensed(over))]).toEqual([over, false]);
    }
  });

  test('a repeated deactivation changes nothing and names no transition', () => {
    const once = decideDeprovision(licensed(), { deprovision: 'account' });
    const twice = decideDeprovision(once.next, { deprovision: 'account' });
    expect(twice.next).toEqual(once.next);
    expect(twice.action).toBeUndefined();
  });

  test('DELETE of an unmanaged account removes site access; a free account stays free', () => {
    expect(decideDeprovision(licensed({ managed: false }), { deprovision: 'account' }, true).next.siteAccess).toBe('removed');
    expect(decideDeprovision(licensed({ license: 'free' }), { deprovision: 'account' }).next.license).toBe('free');
  });

  test('active:true reactivates and asks for a seat when entitled; without entitlement a pending seat is dropped', () => {
    const off = licensed({ accountStatus: 'deactivated', license: 'revoked' });
    expect(decideProvision(off, true)).toMatchObject({ next: { accountStatus: 'active' }, effects: { wantSeat: true }, action: 'account.reactivated' });
    expect(decideProvision(off, false).next.license).toBe('revoked');
    expect(decideProvision(licensed({ license: 'pending_seat' }), false).next.license).toBe('free');
    expect(decideProvision(licensed({ managed: false, siteAccess: 'suspended', license: 'revoked' }), true).next.siteAccess).toBe('active');
  });

  test('SCIM never brings back accounts pending deletion or deleted', () => {
    for (const accountStatus of ['pending_deletion', 'deleted'] as const) {
      expect(decideProvision(licensed({ accountStatus, license: 'revoked' }), true).next.accountStatus).toBe(accountStatus);
    }
  });

  test('group entitlement grants to usable accounts only and revokes held or pending seats', () => {
    expect(decideEntitlement(licensed({ license: 'free' }), true).effects.wantSeat).toBe(true);
    expect(decideEntitlement(licensed({ license: 'free', accountStatus: 'deactivated' }), true).effects.wantSeat).toBe(false);
    expect(decideEntitlement(licensed(), false)).toMatchObject({ next: { license: 'revoked' }, effects: { releaseSeat: true } });
    expect(decideEntitlement(licensed({ license: 'pending_seat' }), false).next.license).toBe('free');
  });

  test('a new inactive managed account starts deactivated without a seat', () => {
    expect(initialState(true, false, true, { deprovision: 'account' })).toMatchObject({ next: { accountStatus: 'deactivated' }, effects: { wantSeat: false } });
    expect(initialState(true, true, true, { deprovision: 'account' }).effects.wantSeat).toBe(true);
  });
});

describe('the SSO rule (DESIGN.md §4)', () => {
  test('creates only on claimed domains, refuses deactivated and deleting accounts, and reports enterprise access without changing it', () => {
    expect(decideLogin('a@example.com', undefined, ['example.com'])).toMatchObject({ outcome: 'create', state: { license: 'free', managed: true } });
    expect(decideLogin('a@other.test', undefined, ['example.com']).outcome).toBe('refused');
    for (const accountStatus of ['deactivated', 'pending_deletion', 'deleted'] as const) {
      expect(decideLogin('a@example.com', licensed({ accountStatus }), ['example.com']).outcome).toBe('refused');
    }
    expect(decideLogin('a@example.com', licensed({ license: 'revoked' }), ['example.com'])).toEqual({ outcome: 'session', enterpriseAccess: false });
    expect(decideLogin('a@example.com', licensed({ siteAccess: 'suspended' }), ['example.com'])).toEqual({ outcome: 'session', enterpriseAccess: false });
    expect(decideLogin('a@example.com', licensed(), ['example.com'])).toEqual({ outcome: 'session', enterpriseAccess: true });
  });
});

describe('content rules', () => {
  const ws = { id: 'w1', name: 'Roadmap', enterprise: true, admins: ['a'], guests: ['g'] };
  test('enterprise content needs an active license, or a named guest', () => {
    expect(canReadWorkspace(ws, 'x', licensed())).toBe(true);
    expect(canReadWorkspace(ws, 'x', licensed({ license: 'revoked' }))).toBe(false);
    expect(canReadWorkspace(ws, 'g', licensed({ license: 'free' }))).toBe(true);
    expect(canReadWorkspace(ws, 'g', licensed({ accountStatus: 'deactivated' }))).toBe(false);
  });
  test('people are shown as deactivated, Removed user or Former user', () => {
    expect(personView('1', 'Bob', licensed({ accountStatus: 'deactivated' }))).toMatchObject({ displayName: 'Bob', deactivated: true, assignable: false });
    expect(personView('1', 'Bob', licensed({ siteAccess: 'removed' })).displayName).toBe('Removed user');
    expect(personView('1', 'Bob', licensed({ accountStatus: 'deleted' })).displayName).toBe('Former user');
    expect(personView('1', 'Bob', undefined).displayName).toBe('Former user');
  });
  test('the last active admin cannot go unless an active replacement is named', () => {
    const active = (id: string) => id !== 'inactive';
    expect(() => assertKeepsActiveAdmin([ws], 'a', active)).toThrow(/Roadmap/);
    expect(() => assertKeepsActiveAdmin([ws], 'a', active, 'inactive')).toThrow(/Roadmap/);
    expect(() => assertKeepsActiveAdmin([ws], 'a', active, 'b')).not.toThrow();
    expect(() => assertKeepsActiveAdmin([{ ...ws, admins: ['a', 'c'] }], 'a', active)).not.toThrow();
  });
});
