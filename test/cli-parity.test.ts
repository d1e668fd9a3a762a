// Command line parity (spec/console.md): every admin API route is also a `gatehouse` command. The
// routes are those the app in this process registers (the list the OpenAPI document is checked
// against); each command names the routes it does the same as in `routes`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { helpText } from '../src/cli/command.ts';
import { COMMANDS } from '../src/cli/run.ts';
import { registeredRoutes } from '../src/openapi/routes.ts';
import { createTestApp, type TestApp } from './support/app.ts';

describe('command line parity with the admin API', () => {
  let app: TestApp;
  let adminRoutes: string[];
  before(async () => {
    app = await createTestApp();
    adminRoutes = registeredRoutes(app.server)
      .filter(({ url }) => url === '/admin' || url.startsWith('/admin/'))
      .map(({ method, url }) => `${method} ${url}`);
  });
  after(() => app.close());

  it('sees the admin API (a test that found no route would prove nothing)', () => {
    assert.ok(adminRoutes.length >= 35, `only ${adminRoutes.length} admin routes seen: ${adminRoutes.join(', ')}`);
    assert.ok(adminRoutes.includes('POST /admin/users'));
    assert.ok(adminRoutes.includes('PUT /admin/projects/:id/members/:user_id'));
  });

  it('every admin API route has a gatehouse command that lists it in routes', () => {
    const covered = new Set(COMMANDS.flatMap((command) => command.routes ?? []));
    const missing = adminRoutes.filter((route) => !covered.has(route));
    assert.deepEqual(missing, [], `admin routes without a command (add one in src/cli/commands/ with routes: [...]):\n  ${missing.join('\n  ')}`);
  });

  it('every routes entry of a command is a real admin API route', () => {
    const real = new Set(adminRoutes);
    const unknown = COMMANDS.flatMap((command) => (command.routes ?? []).filter((route) => !real.has(route)).map((route) => `${command.name}: ${route}`));
    assert.deepEqual(unknown, [], `routes entries that name no admin route:\n  ${unknown.join('\n  ')}`);
  });

  it('--help of a command names the admin routes it stands for', () => {
    for (const command of COMMANDS.filter((c) => (c.routes ?? []).length > 0)) {
      assert.ok(helpText(command).includes(`Admin API: ${(command.routes ?? []).join(', ')}`), command.name);
    }
  });

  it('command names are unique', () => {
    const names = COMMANDS.map((command) => command.name);
    assert.deepEqual(names.filter((name, i) => names.indexOf(name) !== i), []);
  });
});
