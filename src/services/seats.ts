/**
 * Enterprise seats as slots (one document per seat). Claiming a seat is one conditional update of a free slot, so
 * 50 simultaneous claims for 10 seats license exactly 10 — in the embedded store and across several server
 * processes on one MongoDB alike. Releasing matches the holder, so a seat is freed exactly once however often a
 * release is retried.
 */
import type { Store } from '../store/port';
import { DuplicateKeyError } from '../store/port';
import type { OrganizationDoc, SeatDoc } from '../store/documents';

const holderKey = (orgId: string, accountId: string) => `${orgId}:${accountId}`;
const slotId = (orgId: string, slot: number) => `${orgId}:${slot}`;

/**
 * Creates the slots an organization is missing and drops free slots beyond its seat count (after a resize). Free
 * slots carry `free: true`, so a claim starts from the index of free slots instead of testing every slot.
 */
export async function ensureSeatSlots(store: Store, org: Pick<OrganizationDoc, '_id' | 'seats'>): Promise<void> {
  const existing = await store.seats.find({ orgId: org._id }, { projection: { _id: 1, slot: 1 } });
  const have = new Set(existing.map((s) => s.slot));
  const missing: SeatDoc[] = [];
  for (let slot = 0; slot < org.seats; slot++) if (!have.has(slot)) missing.push({ _id: slotId(org._id, slot), orgId: org._id, slot, free: true });
  try {
    await store.seats.insertMany(missing);
  } catch (error) {
    if (!(error instanceof DuplicateKeyError)) throw error;
    // Another process created some of the same slots at the same moment: add the rest one by one.
    for (const seat of missing) {
      try {
        await store.seats.insertOne(seat);
      } catch (e) {
        if (!(e instanceof DuplicateKeyError)) throw e;
      }
    }
  }
  // Slots written before free slots were marked: mark them.
  await store.seats.updateMany({ orgId: org._id, holderKey: { $exists: false }, free: { $exists: false } }, { $set: { free: true } });
  await store.seats.deleteMany({ orgId: org._id, free: true, slot: { $gte: org.seats } });
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
      { orgId: org._id, free: true, slot: { $lt: org.seats } },
      { $set: { holder: accountId, holderKey: holderKey(org._id, accountId), since: now }, $unset: { free: true } },
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
    { $unset: { holder: true, holderKey: true, since: true }, $set: { free: true } },
  );
  if (released && released.slot >= org.seats) {
    // The organization has fewer seats now: this slot goes away once free.
    await store.seats.deleteOne({ _id: released._id, free: true });
  }
  return released !== null;
}

export interface SeatUsage {
  seats: number;
  used: number;
  available: number;
}

export async function seatUsage(store: Store, org: Pick<OrganizationDoc, '_id' | 'seats'>): Promise<SeatUsage> {
  // Every slot is either free or held: counting both through indexed equalities avoids testing each slot.
  const used = (await store.seats.count({ orgId: org._id })) - (await store.seats.count({ orgId: org._id, free: true }));
  return { seats: org.seats, used, available: Math.max(0, org.seats - used) };
}

/** The account ids holding seats, for reconciliation. */
export async function seatHolders(store: Store, orgId: string): Promise<string[]> {
  const held = await store.seats.find({ orgId, holderKey: { $exists: true } }, { projection: { holder: 1 } });
  return held.map((s) => s.holder!).filter(Boolean);
}
