import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, type TestApp } from './support/app.ts';
import { adminToken, bearer, consoleTokens, createProject, createUser, post, type TestProject } from './support/flow.ts';
import { createPin, createPinRequest, listPins, revokePin, type CreatedPin } from './pins-support.ts';

/** A console token of a user who is a console member but not an admin. */
async function nonAdminToken(app: TestApp): Promise<string> {
  const email = 'clerk@example.com';
  const password = 'not an admin at all 42';
  await createUser(app, email, password, 'console');
  return (await consoleTokens(app, email, password)).access_token;
}

describe('admin API for PINs', () => {
  let app: TestApp;
  let token: string;
  let project: TestProject;

  before(async () => {
    app = await createTestApp();
    token = await adminToken(app);
    project = await createProject(app);
  });
  after(() => app.close());

  it('creating a PIN answers 201 with id, an 8-digit PIN and the label', async () => {
    const res = await createPinRequest(app, token, project.id, { label: 'Front desk kiosk' });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json<CreatedPin>();
    assert.deepEqual(Object.keys(body).sort(), ['id', 'label', 'pin']);
    assert.match(body.pin, /^[0-9]{8}$/);
    assert.equal(body.label, 'Front desk kiosk');
    assert.equal(typeof body.id, 'string');
  });

  it('the label is optional and can come as a form post', async () => {
    const bare = await createPinRequest(app, token, project.id);
    assert.equal(bare.statusCode, 201);
    assert.equal(bare.json<CreatedPin>().label, null);
    const form = await app.server.inject({
      method: 'POST',
      url: `/admin/projects/${project.id}/pins`,
      payload: 'label=Tablet',
      headers: { ...bearer(token), 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(form.statusCode, 201);
    assert.equal(form.json<CreatedPin>().label, 'Tablet');
  });

  it('a label longer than 100 characters or not a string is refused with 400', async () => {
    const other = await createProject(app);
    const long = await createPinRequest(app, token, other.id, { label: 'x'.repeat(101) });
    assert.equal(long.statusCode, 400);
    assert.equal(long.json().error, 'Invalid request');
    const notString = await createPinRequest(app, token, other.id, { label: 12 });
    assert.equal(notString.statusCode, 400);
    assert.equal(notString.json().error, 'Invalid request');
    const exactly100 = await createPinRequest(app, token, other.id, { label: 'y'.repeat(100) });
    assert.equal(exactly100.statusCode, 201);
    // nothing was created by the refused requests
    assert.equal((await listPins(app, token, other.id)).json().pins.length, 1);
  });

  it('a body with a field the route does not know is refused with 400, as on every admin route', async () => {
    const other = await createProject(app);
    const typo = await createPinRequest(app, token, other.id, { label: 'kiosk', lable: 'typo' });
    assert.deepEqual([typo.statusCode, typo.json().error], [400, 'Invalid request']);
    assert.equal((await listPins(app, token, other.id)).json().pins.length, 0);
  });

  it('a broken body without a token answers 401 before the body is read, as on every admin route', async () => {
    const broken = await app.server.inject({
      method: 'POST',
      url: `/admin/projects/${project.id}/pins`,
      payload: '{"label": ',
      headers: { 'content-type': 'application/json' },
    });
    assert.deepEqual([broken.statusCode, broken.json()], [401, { error: 'Unauthorized' }]);
    const withToken = await app.server.inject({
      method: 'POST',
      url: `/admin/projects/${project.id}/pins`,
      payload: '{"label": ',
      headers: { ...bearer(token), 'content-type': 'application/json' },
    });
    assert.deepEqual([withToken.statusCode, withToken.json().error], [400, 'Invalid request']);
  });

  it('the PIN is shown once: the list never holds the PIN nor its hash', async () => {
    const other = await createProject(app);
    const created = await createPin(app, token, other.id, 'Lobby');
    const res = await listPins(app, token, other.id);
    assert.equal(res.statusCode, 200);
    const { pins } = res.json<{ pins: Record<string, unknown>[] }>();
    assert.equal(pins.length, 1);
    assert.deepEqual(Object.keys(pins[0]!).sort(), ['created_at', 'id', 'label', 'revoked_at']);
    assert.equal(pins[0]!.id, created.id);
    assert.equal(pins[0]!.label, 'Lobby');
    assert.equal(pins[0]!.created_at, new Date(app.clock.now()).toISOString());
    assert.equal(pins[0]!.revoked_at, null);
    assert.ok(!res.body.includes(created.pin));
  });

  it('the database row holds only a keyed hash of the PIN, no column equals the PIN', async () => {
    const other = await createProject(app);
    const created = await createPin(app, token, other.id);
    const row = await app.services.database.db.selectFrom('pins').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    assert.notEqual(row.pin_hash, created.pin);
    assert.ok(!row.pin_hash.includes(created.pin));
    for (const [column, value] of Object.entries(row)) assert.notEqual(String(value), created.pin, column);
    // not a plain digest either: without the instance key the hash cannot be recomputed
    const { createHash } = await import('node:crypto');
    for (const candidate of [created.pin, `${other.id}:${created.pin}`]) {
      assert.notEqual(row.pin_hash, createHash('sha256').update(candidate).digest('base64url'));
      assert.notEqual(row.pin_hash, createHash('sha256').update(candidate).digest('hex'));
    }
  });

  it('the 11th active PIN is refused with 400 Max active PINs reached; after a revocation one more can be made', async () => {
    const other = await createProject(app);
    const made: CreatedPin[] = [];
    for (let i = 0; i < 10; i++) made.push(await createPin(app, token, other.id, `pin ${i}`));
    assert.equal(new Set(made.map((p) => p.pin)).size, 10);
    const eleventh = await createPinRequest(app, token, other.id);
    assert.deepEqual([eleventh.statusCode, eleventh.json()], [400, { error: 'Max active PINs reached' }]);
    assert.equal((await revokePin(app, token, other.id, made[3]!.id)).statusCode, 204);
    const again = await createPinRequest(app, token, other.id);
    assert.equal(again.statusCode, 201);
    const twelfth = await createPinRequest(app, token, other.id);
    assert.deepEqual([twelfth.statusCode, twelfth.json()], [400, { error: 'Max active PINs reached' }]);
    // revoked PINs stay in the list with their revocation time
    const { pins } = (await listPins(app, token, other.id)).json<{ pins: { id: string; revoked_at: string | null }[] }>();
    assert.equal(pins.length, 11);
    assert.equal(pins.filter((p) => p.revoked_at !== null).length, 1);
    assert.equal(pins.find((p) => p.revoked_at !== null)!.id, made[3]!.id);
  });

  it('the limit holds when many creations race: exactly 10 of 15 succeed', async () => {
    const other = await createProject(app);
    const results = await Promise.all(Array.from({ length: 15 }, () => createPinRequest(app, token, other.id)));
    assert.equal(results.filter((r) => r.statusCode === 201).length, 10);
    for (const r of results.filter((r) => r.statusCode !== 201)) assert.deepEqual(r.json(), { error: 'Max active PINs reached' });
    assert.equal(await app.services.pins.activePinCount(other.id), 10);
  });

  it('revoking answers 204, sets revoked_at, and is idempotent', async () => {
    const other = await createProject(app);
    const created = await createPin(app, token, other.id);
    const res = await revokePin(app, token, other.id, created.id);
    assert.equal(res.statusCode, 204);
    assert.equal(res.body, '');
    const { pins } = (await listPins(app, token, other.id)).json<{ pins: { revoked_at: string | null }[] }>();
    assert.equal(pins[0]!.revoked_at, new Date(app.clock.now()).toISOString());
    assert.equal((await revokePin(app, token, other.id, created.id)).statusCode, 204);
  });

  it('an unknown PIN, or a PIN of another project, answers 404 Not found', async () => {
    const other = await createProject(app);
    const unknown = await revokePin(app, token, other.id, 'no-such-pin');
    assert.deepEqual([unknown.statusCode, unknown.json()], [404, { error: 'Not found' }]);
    const created = await createPin(app, token, project.id);
    const elsewhere = await revokePin(app, token, other.id, created.id);
    assert.deepEqual([elsewhere.statusCode, elsewhere.json()], [404, { error: 'Not found' }]);
    assert.equal(await app.services.pins.findActive(project.id, created.pin), created.id);
  });

  it('an unknown project answers 404 Not found on every PIN route', async () => {
    for (const res of [
      await createPinRequest(app, token, 'no-such-project'),
      await listPins(app, token, 'no-such-project'),
      await revokePin(app, token, 'no-such-project', 'x'),
    ]) {
      assert.deepEqual([res.statusCode, res.json()], [404, { error: 'Not found' }]);
    }
  });

  it('creation and revocation are audited with the admin as subject, and never hold the PIN', async () => {
    const other = await createProject(app);
    const created = await createPin(app, token, other.id, 'Audited');
    await revokePin(app, token, other.id, created.id);
    const admin = await app.services.users.findByEmail(app.config.adminEmail!);
    const events = await app.services.audit.list({ projectId: other.id, limit: 10 });
    const createdEvent = events.find((e) => e.type === 'pin.created');
    const revokedEvent = events.find((e) => e.type === 'pin.revoked');
    assert.ok(createdEvent && revokedEvent);
    for (const event of [createdEvent, revokedEvent]) {
      assert.equal(event.subject, admin!.user.id);
      assert.equal(event.outcome, 'success');
      assert.equal(event.detail?.pin_id, created.id);
      assert.ok(!JSON.stringify(event).includes(created.pin));
    }
  });

  it('without a token, or with a bad one, the PIN routes answer 401 Unauthorized', async () => {
    const created = await createPin(app, token, project.id);
    for (const headers of [{}, bearer('not-a-jwt'), { authorization: 'Basic abc' }]) {
      const responses = [
        await post(app, `/admin/projects/${project.id}/pins`, {}, headers),
        await app.server.inject({ method: 'GET', url: `/admin/projects/${project.id}/pins`, headers }),
        await app.server.inject({ method: 'DELETE', url: `/admin/projects/${project.id}/pins/${created.id}`, headers }),
      ];
      for (const res of responses) assert.deepEqual([res.statusCode, res.json()], [401, { error: 'Unauthorized' }]);
    }
    assert.equal(await app.services.pins.findActive(project.id, created.pin), created.id);
  });

  it('a console token of a non-admin answers 403 Forbidden', async () => {
    const clerk = await nonAdminToken(app);
    const created = await createPin(app, token, project.id);
    const before = await app.services.pins.activePinCount(project.id);
    const responses = [
      await createPinRequest(app, clerk, project.id),
      await listPins(app, clerk, project.id),
      await revokePin(app, clerk, project.id, created.id),
    ];
    for (const res of responses) assert.deepEqual([res.statusCode, res.json()], [403, { error: 'Forbidden' }]);
    assert.equal(await app.services.pins.activePinCount(project.id), before);
  });
});
