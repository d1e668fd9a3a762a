// `gatehouse project create|update --backchannel-logout-uri`: the admin API's field and rule
// (docs/backchannel-logout.md) from the command line, run in this process through runCli.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../src/cli/run.ts';
import type { Project } from '../src/projects/projects.ts';
import { createTestApp, testEnv, type TestApp } from './support/app.ts';
import { REDIRECT_URI } from './support/flow.ts';

describe('gatehouse project create|update --backchannel-logout-uri', () => {
  const env = testEnv();
  let app: TestApp;
  before(async () => {
    app = await createTestApp({ env });
  });
  after(() => app.close());

  async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, { stdout: (text) => (stdout += `${text}\n`), stderr: (text) => (stderr += `${text}\n`), env });
    return { code, stdout, stderr };
  }

  it('sets, shows, changes and clears the URI; refuses an http one off loopback', async () => {
    const created = await cli('project', 'create', '--name', 'Listening', '--redirect-uri', REDIRECT_URI, '--id', 'listening', '--backchannel-logout-uri', 'https://rp.example.com/bc', '--json');
    assert.equal(created.code, 0, created.stderr);
    assert.equal((JSON.parse(created.stdout) as Project).backchannel_logout_uri, 'https://rp.example.com/bc');
    const shown = await cli('project', 'update', 'listening', '--backchannel-logout-uri', 'http://127.0.0.1:8080/bc');
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /logout tokens: http:\/\/127\.0\.0\.1:8080\/bc/);
    const refused = await cli('project', 'update', 'listening', '--backchannel-logout-uri', 'http://rp.example.com/bc');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /backchannel_logout_uri must be https, or http on a loopback address/);
    assert.equal((await app.services.projects.find('listening'))?.project.backchannel_logout_uri, 'http://127.0.0.1:8080/bc');
    const cleared = await cli('project', 'update', 'listening', '--backchannel-logout-uri', 'none', '--json');
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.equal((JSON.parse(cleared.stdout) as Project).backchannel_logout_uri, null);
  });
});
