// Prepared queries (src/storage/prepared.ts) on the backend of this pass: placeholders bound by
// name, writes that undo themselves together, and, on SQLite, the synchronous path never
// reading or writing inside a Kysely transaction that is open and waiting.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { param, prepare, step, writeAtomically } from '../src/storage/prepared.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { testBackend } from './support/backend.ts';

describe(`prepared queries on ${testBackend}`, () => {
  let app: TestApp;
  const at = 1_700_000_000_000;
  before(async () => {
    app = await createTestApp();
  });
  after(() => app.close());

  const db = () => app.services.database.db;
  const kvValue = () => prepare<{ key: string }, { value: string }>(db().selectFrom('kv').select('value').where('key', '=', param<string>('key')));
  const putKv = () => prepare<{ key: string; value: string }, never>(db().insertInto('kv').values({ key: param('key'), value: param('value'), expires_at: at }));
  const setKv = () =>
    prepare<{ key: string; value: string }, never>(db().updateTable('kv').set({ value: param('value') }).where('key', '=', param<string>('key')));

  it('binds each placeholder by name, however often and in whatever order it appears', async () => {
    const query = prepare<{ a: string; b: string }, { value: string }>(
      db().selectFrom('kv').select('value').where('key', 'in', [param<string>('b'), param<string>('a'), param<string>('b')]).orderBy('value'),
    );
    await putKv().execute(db(), { key: 'p1', value: 'one' });
    await putKv().execute(db(), { key: 'p2', value: 'two' });
    await putKv().execute(db(), { key: 'p3', value: 'three' });
    const rows = (await query.execute(db(), { a: 'p1', b: 'p2' })).rows.map((r) => r.value);
    assert.deepEqual(rows, ['one', 'two']);
    assert.equal(await setKv().changes(db(), { key: 'p3', value: 'THREE' }), 1);
    assert.equal(await setKv().changes(db(), { key: 'absent', value: 'x' }), 0);
    assert.deepEqual(await kvValue().first(db(), { key: 'p3' }), { value: 'THREE' });
  });

  it('refuses a value left out, and a query without placeholders', async () => {
    await assert.rejects(kvValue().first(db(), {} as { key: string }), /no value for placeholder key/);
    assert.throws(() => prepare(db().selectFrom('kv').select('value').where('key', '=', 'fixed')), /without placeholders/);
  });

  it('writeAtomically applies every write, or none when a mustChange write changes nothing', async () => {
    const applied = await writeAtomically(db(), [step(putKv(), { key: 'w1', value: 'a' }), step(setKv(), { key: 'w1', value: 'b' }, true)]);
    assert.equal(applied, true);
    assert.deepEqual(await kvValue().first(db(), { key: 'w1' }), { value: 'b' });

    const undone = await writeAtomically(db(), [step(putKv(), { key: 'w2', value: 'a' }), step(setKv(), { key: 'nobody', value: 'b' }, true)]);
    assert.equal(undone, false);
    assert.equal(await kvValue().first(db(), { key: 'w2' }), undefined);
  });

  it('a failing write undoes the ones before it and reaches the caller', async () => {
    await assert.rejects(writeAtomically(db(), [step(putKv(), { key: 'f1', value: 'a' }), step(putKv(), { key: 'f1', value: 'again' })]));
    assert.equal(await kvValue().first(db(), { key: 'f1' }), undefined);
  });

  it('waits for a Kysely transaction in progress instead of reading or writing inside it', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const transaction = db()
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('kv').values({ key: 't1', value: 'uncommitted', expires_at: at }).execute();
        entered();
        await held;
        throw new Error('rolled back on purpose');
      });
    await inside;
    // Started while the transaction holds its row uncommitted: neither may see or join it.
    const read = kvValue().first(db(), { key: 't1' });
    const write = writeAtomically(db(), [step(putKv(), { key: 't2', value: 'outside' })]);
    release();
    await assert.rejects(transaction, /rolled back on purpose/);
    assert.equal(await read, undefined);
    assert.equal(await write, true);
    assert.deepEqual(await kvValue().first(db(), { key: 't2' }), { value: 'outside' });
    assert.equal(await kvValue().first(db(), { key: 't1' }), undefined);
  });
});
