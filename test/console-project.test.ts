// Hardening: the console project follows the issuer. Its redirect URI is <issuer>/console/callback
// on every start, and the admin API cannot change it (409).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildApp } from '../src/app.ts';
import { ManualClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createTestApp, testEnv } from './support/app.ts';
import { call } from './support/admin.ts';
import { releaseTestStorage } from './support/backend.ts';
import { adminToken } from './support/flow.ts';

describe('the console project', () => {
  it('a changed GATEHOUSE_ISSUER moves the console redirect URI on the next start, and admins can sign in there', async () => {
    const env = testEnv({ GATEHOUSE_ISSUER: 'https://old.example' });
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const first = await buildApp({ config: loadConfig(env), clock });
    // Someone edited it behind the API's back (or an older version let them).
    await first.services.database.db.updateTable('projects').set({ redirect_uris: JSON.stringify(['https://typo.example/cb']) }).where('id', '=', 'console').execute();
    await first.close();

    const config = loadConfig({ ...env, GATEHOUSE_ISSUER: 'https://new.example' });
    const second = await buildApp({ config, clock });
    try {
      const record = await second.services.projects.find('console');
      assert.deepEqual(record?.project.redirect_uris, ['https://new.example/console/callback']);
      const token = await adminToken({ ...second, clock, config });
      assert.ok(token.length > 0);
    } finally {
      await second.close();
      await releaseTestStorage(config);
    }
  });

  it('the admin API cannot change its redirect URIs: 409, and the URI stays', async () => {
    const app = await createTestApp();
    try {
      const admin = await adminToken(app);
      const own = `${app.config.issuer}/console/callback`;
      for (const redirect_uris of [['https://evil.example/cb'], [own, 'https://evil.example/cb'], []]) {
        const res = await call(app, admin, 'PATCH', '/admin/projects/console', { redirect_uris });
        if (redirect_uris.length === 0) {
          assert.equal(res.statusCode, 400);
          continue;
        }
        assert.deepEqual([res.statusCode, res.json()], [409, { error: "The console project's redirect URI follows GATEHOUSE_ISSUER and cannot be changed" }]);
      }
      // The same URI is no change, and other fields stay editable.
      const same = await call(app, admin, 'PATCH', '/admin/projects/console', { redirect_uris: [own], name: 'Our console' });
      assert.equal(same.statusCode, 200, same.body);
      assert.deepEqual(same.json<{ redirect_uris: string[]; name: string }>(), { ...same.json(), redirect_uris: [own], name: 'Our console' });
    } finally {
      await app.close();
    }
  });
});
