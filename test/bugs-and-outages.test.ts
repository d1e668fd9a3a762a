// A bug is not an outage: an error nobody recognises answers 500 Internal error (its stack in
// the log, never in the answer); only an unreachable store answers 503 Service unavailable.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isOutage } from '../src/storage/outage.ts';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { authParams, createProject, type TestProject } from './support/flow.ts';
import { LogCapture } from './support/log-capture.ts';

describe('an unexpected error in a route', () => {
  let app: TestApp;
  let project: TestProject;
  const capture = new LogCapture();

  before(async () => {
    app = await createTestApp({ logger: { level: 'error', stream: capture } });
    project = await createProject(app);
    // A bug inside a service: the kind of error no catalogue entry and no store produces.
    app.services.projects.find = () => {
      throw new TypeError("Cannot read properties of undefined (reading 'secret-internal-detail')");
    };
  });
  after(() => app.close());

  const url = () => `/authorize?${new URLSearchParams({ ...authParams(project.id, pkcePair().challenge) }).toString()}`;

  it('answers 500 Internal error as JSON, with nothing of the error in the body', async () => {
    const res = await app.server.inject({ method: 'GET', url: url(), headers: { accept: 'application/json' } });
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { error: 'Internal error' });
    assert.doesNotMatch(res.body, /secret-internal-detail|TypeError/);
  });

  it('answers a browser with the error page, status 500', async () => {
    const res = await app.server.inject({ method: 'GET', url: url(), headers: { accept: 'text/html' } });
    assert.equal(res.statusCode, 500);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /Internal error/);
    assert.doesNotMatch(res.body, /secret-internal-detail|TypeError|at \//);
  });

  it('logs the error with its stack', () => {
    const failures = capture.lines().filter((line) => line.msg === 'request failed');
    assert.ok(failures.length >= 2, 'each failed request is logged');
    const err = failures[0]?.err as { type?: string; stack?: string } | undefined;
    assert.equal(err?.type, 'TypeError');
    assert.match(err?.stack ?? '', /secret-internal-detail[\s\S]*\n\s+at /);
  });
});

describe('isOutage', () => {
  const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it('knows an unreachable PostgreSQL, Redis, SQLite file and mail server', () => {
    for (const error of [
      withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      withCode('57P01', 'terminating connection due to administrator command'),
      withCode('57014', 'canceling statement due to statement timeout'),
      withCode('08006', 'connection failure'),
      withCode('53300', 'too many connections'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Query read timeout'),
      new Error('Connection is closed.'),
      new Error('Command timed out'),
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' }),
      withCode('SQLITE_BUSY', 'database is locked'),
      withCode('SQLITE_IOERR_WRITE', 'disk I/O error'),
      withCode('SQLITE_FULL', 'database or disk is full'),
      new TypeError('The database connection is not open'),
      new Error('driver has already been destroyed'),
      withCode('ESOCKET', 'Connection closed'),
      new Error('the query failed', { cause: withCode('ECONNRESET') }),
      new AggregateError([withCode('ECONNREFUSED')], 'all addresses failed'),
    ]) {
      assert.equal(isOutage(error), true, `${(error as Error).message} is an outage`);
    }
  });

  it('calls everything else a bug', () => {
    for (const error of [
      new TypeError("Cannot read properties of undefined (reading 'id')"),
      new RangeError('Invalid time value'),
      withCode('23505', 'duplicate key value violates unique constraint'),
      withCode('42P01', 'relation "users" does not exist'),
      withCode('SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed'),
      withCode('SQLITE_ERROR', 'no such table: users'),
      withCode('ERR_INVALID_ARG_TYPE'),
      new Error('no signing key'),
      'a thrown string',
      undefined,
    ]) {
      assert.equal(isOutage(error), false, `${String((error as Error | undefined)?.message ?? error)} is a bug`);
    }
  });
});
