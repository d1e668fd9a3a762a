// A database that has applied some migrations refuses to start when a newer release names a new
// migration before one it applied (Kysely checks that the applied ones are the first of the list).
// So a migration is only ever added at the end, with a number above every earlier one, and never
// renamed: the names below are those of every release so far, in the order they are applied.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { createTestApp, type TestApp } from './support/app.ts';

const LANDED = [
  '0001_core',
  '0002_expiry_indexes',
  '0003_no_refresh_token_session_index',
  '0004_hashed_session_ids',
  '0005_session_max_seconds',
  '0006_sealed_sid',
  '0007_browser_sessions',
  '0008_signing_algs',
  '0009_project_and_profile_fields',
  '0010_account_tokens',
  '0011_branding',
  '0012_second_factors',
  '0014_service_clients',
  '0015_outbox',
  '0016_connections',
  '0017_backchannel_logout',
  '0019_spent_token_successor',
  '0020_project_revision',
  '0021_passkeys',
];

describe('the migrations', () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp();
  });
  after(() => app.close());

  it('start with every migration of earlier releases, in their order, and add new ones only after them', async () => {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(app.services.database.db);
    const applied = rows.map((row) => row.name);
    assert.deepEqual(applied.slice(0, LANDED.length), LANDED, 'a migration of an earlier release was renamed, removed, or one was added before it');
    for (const name of applied.slice(LANDED.length)) assert.ok(name > (LANDED[LANDED.length - 1] ?? ''), `${name} sorts before a landed migration`);
  });
});
