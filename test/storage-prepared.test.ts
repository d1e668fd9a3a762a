// Prepared queries (src/storage/prepared.ts) on the backend of this pass: placeholders bound by
// name, writes that undo themselves together, and, on SQLite, the synchronous path never
// reading or writing inside a Kysely transaction that is open and waiting; and the SQLite group
// commit: the write transactions of one event-loop turn committed together, each all or nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Sqlite from 'better-sqlite3';
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

  it('a step told to hear of its commit hears once it committed, only when it changed a row, never when its writes were undone', async () => {
    const heard: string[] = [];
    const hear = (what: string) => () => heard.push(what);
    // What the listener reads, from another connection of the pool on PostgreSQL: the write is committed.
    let read: Promise<{ value: string } | undefined> | undefined;
    const changes = step(putKv(), { key: 'n1', value: 'a' }, false, () => {
      heard.push('changed');
      read = kvValue().first(db(), { key: 'n1' });
    });
    assert.equal(await writeAtomically(db(), [changes, step(setKv(), { key: 'nobody', value: 'x' }, false, hear('unchanged'))]), true);
    assert.deepEqual(heard, ['changed']);
    assert.deepEqual(await read, { value: 'a' });
    // Undone by a mustChange step: its earlier write changed a row, yet nobody hears.
    assert.equal(await writeAtomically(db(), [step(putKv(), { key: 'n2', value: 'a' }, false, hear('undone')), step(setKv(), { key: 'nobody', value: 'b' }, true)]), false);
    await assert.rejects(writeAtomically(db(), [step(putKv(), { key: 'n3', value: 'a' }, false, hear('failed')), step(putKv(), { key: 'n1', value: 'again' })]));
    assert.deepEqual(heard, ['changed']);
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

  it('writes asked for in the same turn each apply all or nothing, and each caller gets its own answer', async () => {
    // Five callers at once (one group commit on SQLite, concurrent transactions on PostgreSQL):
    // the second loses its conditional update, the fourth fails on a duplicate key; the others
    // must land whole.
    await putKv().execute(db(), { key: 'g-taken', value: 'first' });
    await putKv().execute(db(), { key: 'g5', value: 'a' });
    const answers = await Promise.allSettled([
      writeAtomically(db(), [step(putKv(), { key: 'g1', value: 'a' }), step(setKv(), { key: 'g1', value: 'b' }, true)]),
      writeAtomically(db(), [step(putKv(), { key: 'g2', value: 'a' }), step(setKv(), { key: 'g-nobody', value: 'b' }, true)]),
      writeAtomically(db(), [step(putKv(), { key: 'g3', value: 'a' })]),
      writeAtomically(db(), [step(putKv(), { key: 'g4', value: 'a' }), step(putKv(), { key: 'g-taken', value: 'second' })]),
      writeAtomically(db(), [step(setKv(), { key: 'g5', value: 'c' }, true)]),
    ]);
    assert.deepEqual(
      answers.map((a) => a.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(
      answers.map((a) => (a.status === 'fulfilled' ? a.value : 'error')),
      [true, false, true, 'error', true],
    );
    assert.deepEqual(await kvValue().first(db(), { key: 'g1' }), { value: 'b' });
    assert.equal(await kvValue().first(db(), { key: 'g2' }), undefined, 'the caller whose update changed nothing left nothing');
    assert.deepEqual(await kvValue().first(db(), { key: 'g3' }), { value: 'a' });
    assert.deepEqual(await kvValue().first(db(), { key: 'g5' }), { value: 'c' });
    assert.equal(await kvValue().first(db(), { key: 'g4' }), undefined, 'the failing caller left nothing');
    assert.deepEqual(await kvValue().first(db(), { key: 'g-taken' }), { value: 'first' });
  });

  it('callers whose first write fails or changes nothing leave nothing, beside callers that succeed', async () => {
    // On SQLite this group needs no savepoints: every failure is at a caller's first step.
    await putKv().execute(db(), { key: 'h-taken', value: 'first' });
    const answers = await Promise.allSettled([
      writeAtomically(db(), [step(putKv(), { key: 'h1', value: 'a' }), step(setKv(), { key: 'h1', value: 'b' }, true)]),
      writeAtomically(db(), [step(setKv(), { key: 'h-nobody', value: 'b' }, true), step(putKv(), { key: 'h2', value: 'a' })]),
      writeAtomically(db(), [step(putKv(), { key: 'h-taken', value: 'second' }), step(putKv(), { key: 'h3', value: 'a' })]),
      writeAtomically(db(), [step(putKv(), { key: 'h4', value: 'a' })]),
    ]);
    assert.deepEqual(
      answers.map((a) => (a.status === 'fulfilled' ? a.value : 'error')),
      [true, false, 'error', true],
    );
    assert.deepEqual(await kvValue().first(db(), { key: 'h1' }), { value: 'b' });
    assert.equal(await kvValue().first(db(), { key: 'h2' }), undefined);
    assert.equal(await kvValue().first(db(), { key: 'h3' }), undefined);
    assert.deepEqual(await kvValue().first(db(), { key: 'h4' }), { value: 'a' });
    assert.deepEqual(await kvValue().first(db(), { key: 'h-taken' }), { value: 'first' });
  });

  it('on SQLite, the writes of one turn are committed together, after the turn', { skip: testBackend !== 'sqlite' && 'group commit is how the SQLite backend writes' }, async () => {
    const sqlite = app.services.database.sqlite;
    assert.ok(sqlite);
    const first = writeAtomically(db(), [step(putKv(), { key: 'c1', value: 'a' })]);
    const second = writeAtomically(db(), [step(putKv(), { key: 'c2', value: 'a' })]);
    // In the group's order: a later caller of the same turn sees the earlier one's write.
    const third = writeAtomically(db(), [step(setKv(), { key: 'c1', value: 'b' }, true)]);
    // Nothing is written until the turn ends; a read now sees the state before both.
    assert.equal(sqlite.prepare("SELECT count(*) FROM kv WHERE key IN ('c1', 'c2')").pluck().get(), 0);
    assert.deepEqual(await Promise.all([first, second, third]), [true, true, true]);
    assert.equal(sqlite.prepare("SELECT count(*) FROM kv WHERE key IN ('c1', 'c2')").pluck().get(), 2);
    assert.deepEqual(await kvValue().first(db(), { key: 'c1' }), { value: 'b' });
    assert.equal(sqlite.inTransaction, false);
    // A second connection to the file sees both rows: they are committed, not pending on ours.
    const other = new Sqlite(sqlite.name, { readonly: true });
    try {
      assert.equal(other.prepare("SELECT count(*) FROM kv WHERE key IN ('c1', 'c2')").pluck().get(), 2);
    } finally {
      other.close();
    }
  });

  it('on SQLite, when the group transaction itself fails, every caller of the group is told', { skip: testBackend !== 'sqlite' && 'group commit is how the SQLite backend writes' }, async () => {
    const own = await createTestApp();
    const sqlite = own.services.database.sqlite;
    assert.ok(sqlite);
    const ownDb = own.services.database.db;
    const put = prepare<{ key: string; value: string }, never>(ownDb.insertInto('kv').values({ key: param('key'), value: param('value'), expires_at: at }));
    const pending = [writeAtomically(ownDb, [step(put, { key: 'x1', value: 'a' })]), writeAtomically(ownDb, [step(put, { key: 'x2', value: 'a' })])];
    sqlite.close(); // before the turn ends: the group cannot begin its transaction
    const answers = await Promise.allSettled(pending);
    assert.deepEqual(
      answers.map((a) => a.status),
      ['rejected', 'rejected'],
    );
    await own.close().catch(() => undefined);
  });
});
