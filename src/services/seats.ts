/**
 * Enterprise seats as slots (one document per seat). Claiming a seat is one conditional update of a free slot, so
 * 50 simultaneous claims for 10 seats license exactly 10 — in the embedded store and across several server
 * processes on one MongoDB alike. Releasing matches the holder, so a seat is freed exactly once however often a
 * release is retried.
 */
import type { Store } from '../store/port';
import { DuplicateKeyError } from '../store/port';
import type { OrganizationDoc } from '../store/documents';

const holderKey = (orgId: string, accountId: string) => `${orgId}:${accountId}`;
const slotId = (orgId: string, slot: number) => `${orgId}:${slot}`;

/** Creates the slots an organization is missing and drops free slots beyond its seat count (after a resize). */
export async function ensureSeatSlots(store: Store, org: Pick<OrganizationDoc, '_id' | 'seats'>): Promise<void> {
  const existing = await store.seats.find({ orgId: org._id }, { projection: { _id: 1, slot: 1 } });
  const have = new Set(existing.map((s) => s.slot));
  const missing = [];
  for (let slot = 0; slot < org.seats; slot++) if (!have.has(slot)) missing.push({ _id: slotId(org._id, slot), orgId: org._id, slot });
  for (const seat of missing) {
    try {
      await store.seats.insertOne(seat);
    } catch (error) {
      // Another process created the same slot at the same moment.
      if (!(error instanceof DuplicateKeyError)) throw error;
    }
  }
  await store.seats.deleteMany({ orgId: org._id, slot: { $gte: org.seats }, holderKey: { $exists: false } });
}

/** Whether the account holds a seat. */
export async function holdsSeat(store: Store, orgId: string, accountId: string): Promise<boolean> {
  return (await store.seats.findOne({ holderKey: holderKey(orgId, accountId) })) !== null;
}

/**
 * What a claim found: `claimed` — this call took a free seat for the account (and only this caller may give it back
 * if what it was for falls through); `held` — the account already held one (another request claimed it); `none` —
 * no seat is free.
 */
export type SeatClaim = 'claimed' | 'held' | 'none';

/** Claims a seat for the account. */
export async function claimSeat(store: Store, org: Pick<OrganizationDoc, '_id' | 'seats'>, accountId: string, now: Date): Promise<SeatClaim> {
  if (await holdsSeat(store, org._id, accountId)) return 'held';
  try {
    const claimed = await store.seats.updateOne(
      { orgId: org._id, slot: { $lt: org.seats }, holderKey: { $exists: false } },
      { $set: { holder: accountId, holderKey: holderKey(org._id, accountId), since: now } },
    );
    return claimed ? 'claimed' : 'none';
  } catch (error) {
    // The unique holderKey refused a second seat for the same account: a concurrent claim for it won.
    if (error instanceof DuplicateKeyError) return 'held';
    throw error;
  }
}

/** Releases the account's seat; `true` when a seat was released by this call. */
export async function releaseSeat(store: Store, org: Pick<OrganizationDoc, '_id' | 'seats'>, accountId: string): Promise<boolean> {
  const released = await store.seats.updateOne(
    { holderKey: holderKey(org._id, accountId) },
    { $unset: { holder: true, holderKey: true, since: true } },
  );
  if (released && released.slot >= org.seats) {
    // The organization has fewer seats now: this slot goes away once free.
    await store.seats.deleteOne({ _id: released._id, holderKey: { $exists: false } });
  }
  return released !== null;
}

export interface SeatUsage {
  seats: number;
  used: number;
  available: number;
}

export async function seatUsage(store: Store, org: Pick<OrganizationDoc, '_id' | 'seats'>): Promise<SeatUsage> {
  const used = await store.seats.count({ orgId: org._id, holderKey: { $exists: true } });
  return { seats: org.seats, used, available: Math.max(0, org.seats - used) };
}

/** The account ids holding seats, for reconciliation. */
export async function seatHolders(store: Store, orgId: string): Promise<string[]> {
  const held = await store.seats.find({ orgId, holderKey: { $exists: true } }, { projection: { holder: 1 } });
  return held.map((s) => s.holder!).filter(Boolean);
}
