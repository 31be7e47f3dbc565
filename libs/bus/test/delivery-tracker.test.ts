import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeliveryTracker } from '../src/delivery-tracker';

test('a chunk given by its last offset and newest timestamp moves a partition exactly as its records one by one do', () => {
  const records = [
    { offset: '7', timestamp: 300 },
    { offset: '8', timestamp: 100 },
    { offset: '9', timestamp: 200 },
  ];
  const byRecord = new DeliveryTracker();
  const byChunk = new DeliveryTracker();
  for (const tracker of [byRecord, byChunk]) tracker.assignAll([{ topic: 't', partition: 0 }]);
  byRecord.delivered(records.map((r) => ({ topic: 't', partition: 0, ...r })));
  byChunk.deliveredChunk('t', 0, '9', 300);
  assert.deepEqual(byChunk.list(), byRecord.list());
  assert.deepEqual(byChunk.list(), [{ topic: 't', partition: 0, newestTimestamp: 300, next: 10n }]);
  // An older chunk (a redelivery) moves nothing back; an unassigned partition is ignored.
  byChunk.deliveredChunk('t', 0, '3', 50);
  byChunk.deliveredChunk('t', 1, '99', 999);
  assert.deepEqual(byChunk.list(), [{ topic: 't', partition: 0, newestTimestamp: 300, next: 10n }]);
});
