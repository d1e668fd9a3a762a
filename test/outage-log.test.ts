// Hardening: outages do not flood the logs. Repeated errors of one dependency are logged at most
// once a second with a count of the lines folded in; bugs (500) are still logged every time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { outageSource } from '../src/storage/outage.ts';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { authParams, createProject, type TestProject } from './support/flow.ts';
import { LogCapture } from './support/log-capture.ts';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 5432 });
const redisDown = () => new Error('Connection is closed.');

describe('outage lines in the log', () => {
  let app: TestApp;
  let project: TestProject;
  const capture = new LogCapture();
  let failure: () => Error = refused;

  before(async () => {
    app = await createTestApp({ logger: { level: 'error', stream: capture } });
    project = await createProject(app);
    app.services.projects.find = () => Promise.reject(failure());
  });
  after(() => app.close());

  const authorize = () =>
    app.server.inject({ method: 'GET', url: `/authorize?${new URLSearchParams({ ...authParams(project.id, pkcePair().challenge) }).toString()}`, headers: { accept: 'application/json' } });
  const failedLines = () => capture.lines().filter((line) => line.msg === 'request failed');

  it('fifty requests failing on one dependency within a second write one line; the next second\'s line counts the 49 folded in', async () => {
    capture.text = '';
    for (let i = 0; i < 50; i++) assert.equal((await authorize()).statusCode, 503);
    assert.equal(failedLines().length, 1);
    assert.deepEqual([failedLines()[0]?.dependency, failedLines()[0]?.folded], ['127.0.0.1:5432', 0]);
    app.clock.advance(999);
    await authorize();
    assert.equal(failedLines().length, 1);
    app.clock.advance(2);
    await authorize();
    assert.equal(failedLines().length, 2);
    assert.equal(failedLines()[1]?.folded, 50);
  });

  it('another dependency has its own line', async () => {
    capture.text = '';
    app.clock.advance(5000);
    await authorize();
    failure = redisDown;
    await authorize();
    await authorize();
    failure = refused;
    assert.deepEqual(
      failedLines().map((line) => line.dependency),
      ['127.0.0.1:5432', 'redis'],
    );
  });

  it('bugs (500) are logged every time', async () => {
    capture.text = '';
    failure = () => new TypeError('a bug');
    for (let i = 0; i < 5; i++) assert.equal((await authorize()).statusCode, 500);
    failure = refused;
    assert.equal(failedLines().length, 5);
    assert.equal(failedLines()[0]?.dependency, undefined);
  });
});

describe('outageSource', () => {
  it('names the dependency of each outage, through causes, and nothing for a bug', () => {
    const withCode = (code: string) => Object.assign(new Error('x'), { code });
    assert.equal(outageSource(withCode('57P01')), 'postgresql');
    assert.equal(outageSource(new Error('timeout exceeded when trying to connect')), 'postgresql');
    assert.equal(outageSource(withCode('SQLITE_BUSY')), 'sqlite');
    assert.equal(outageSource(new Error('Command timed out')), 'redis');
    assert.equal(outageSource(withCode('ESOCKET')), 'smtp');
    assert.equal(outageSource(new Error('wrapped', { cause: refused() })), '127.0.0.1:5432');
    assert.equal(outageSource(new TypeError('x')), undefined);
  });
});
