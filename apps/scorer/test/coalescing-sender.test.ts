import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoalescingSender } from '../src/coalescing-sender';

/** Lets resolved promises run their continuations. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A sendAll whose requests are recorded and answered by hand. */
function broker() {
  const requests: { messages: number[]; answer: (error?: Error) => void }[] = [];
  const sendAll = (messages: number[]): Promise<void> =>
    new Promise<void>((resolve, reject) => requests.push({ messages, answer: (error) => (error === undefined ? resolve() : reject(error)) }));
  return { requests, sendAll };
}

test('batches that finish while a request is in flight go out together in the next request', async () => {
  const b = broker();
  const sender = new CoalescingSender<number>({ sendAll: b.sendAll, maxMessages: 100 });
  const settled: string[] = [];
  void sender.send([1, 2]).then(() => settled.push('a'));
  void sender.send([3]).then(() => settled.push('b'));
  void sender.send([4, 5]).then(() => settled.push('c'));
  await settle();
  assert.deepEqual(b.requests.map((r) => r.messages), [[1, 2]], 'the first batch goes out at once, alone');
  b.requests[0]!.answer();
  await settle();
  assert.deepEqual(settled, ['a']);
  assert.deepEqual(b.requests.map((r) => r.messages), [[1, 2], [3, 4, 5]], 'the two that waited share one request, in order');
  b.requests[1]!.answer();
  await settle();
  assert.deepEqual(settled, ['a', 'b', 'c']);
});

test('a request never takes more than maxMessages, and a batch is never split', async () => {
  const b = broker();
  const sender = new CoalescingSender<number>({ sendAll: b.sendAll, maxMessages: 4 });
  const all = [sender.send([1]), sender.send([2, 3]), sender.send([4, 5]), sender.send([6, 7, 8, 9, 10])];
  for (let i = 0; i < 4; i++) {
    await settle();
    b.requests.at(-1)!.answer();
  }
  await Promise.all(all);
  assert.deepEqual(b.requests.map((r) => r.messages), [[1], [2, 3, 4, 5], [6, 7, 8, 9, 10]]);
});

test('a failed request rejects exactly the batches it carried; later ones still go out', async () => {
  const b = broker();
  const sender = new CoalescingSender<number>({ sendAll: b.sendAll, maxMessages: 100 });
  const first = sender.send([1]);
  const second = sender.send([2]);
  const third = sender.send([3]);
  await settle();
  b.requests[0]!.answer();
  await settle();
  b.requests[1]!.answer(new Error('broker down'));
  await assert.doesNotReject(first);
  await assert.rejects(second, /broker down/);
  await assert.rejects(third, /broker down/);
  const fourth = sender.send([4]);
  await settle();
  assert.deepEqual(b.requests.at(-1)!.messages, [4]);
  b.requests.at(-1)!.answer();
  await assert.doesNotReject(fourth);
});

test('an empty batch resolves without a request', async () => {
  const b = broker();
  const sender = new CoalescingSender<number>({ sendAll: b.sendAll, maxMessages: 10 });
  await sender.send([]);
  assert.equal(b.requests.length, 0);
});
