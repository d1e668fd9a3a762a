// gatehouse users import FILE | users export [--output FILE] (docs/accounts-import.md)
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { CommandFailed, flag, stringOption, type Command } from '../command.ts';

/** Progress for people at a terminal only: scripts and pipes see none of it. */
function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r${text}`);
}

export const usersImport: Command = {
  name: 'users import',
  summary: 'Import accounts from a JSON Lines file (one account a line); existing emails are left alone unless --update.',
  usage: 'gatehouse users import FILE [--update] [--batch N]',
  details: [
    'Each line: {"email": "...", "password_hash": "...", "name": "...", "email_verified": true,',
    '            "is_admin": false, "projects": [{"id": "...", "blocked": false}]} (all but email optional).',
    'password_hash: bcrypt, Argon2id, Argon2i, scrypt or PBKDF2-SHA256 (see docs/accounts-import.md).',
    'Options:',
    '  --update     an email that already has an account takes the line\'s fields and memberships',
    '  --batch N    lines written per transaction (default 500)',
    'A bad line is skipped; every bad line is listed at the end, and the exit status is then 1.',
  ].join('\n'),
  positionals: ['FILE'],
  options: { update: { type: 'boolean' }, batch: { type: 'string' } },
  async run({ values, positionals, out, services, audit }) {
    const file = positionals[0]!;
    const batchText = stringOption(values, 'batch');
    const batchSize = batchText === undefined ? 500 : Number(batchText);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new CommandFailed('--batch must be a whole number from 1 to 10000');
    const stream = createReadStream(file, { encoding: 'utf8' });
    const opened = once(stream, 'open').catch((error: NodeJS.ErrnoException) => {
      throw new CommandFailed(`cannot read ${file}: ${error.code ?? error.message}`);
    });
    await opened;
    const update = flag(values, 'update');
    const started = process.hrtime.bigint();
    const tally = await services.accountsIo.importLines(createInterface({ input: stream, crlfDelay: Infinity }), {
      update,
      batchSize,
      onProgress: (read) => progressLine(`${read} lines read`),
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await audit('admin.users.imported', {
      detail: { created: tally.created, updated: tally.updated, unchanged: tally.unchanged, problems: tally.problems.length, update },
    });
    const summary = `${tally.created} created, ${tally.updated} updated, ${tally.unchanged} left alone (already there), ${tally.problems.length} bad lines (${seconds.toFixed(1)} s)`;
    out.result(tally, [summary, ...tally.problems.map((p) => `line ${p.line}: ${p.reason}`)].join('\n'));
    if (tally.problems.length > 0) throw new CommandFailed(`${tally.problems.length} line${tally.problems.length === 1 ? '' : 's'} not imported (listed above)`);
  },
};

async function write(target: Writable, text: string): Promise<void> {
  if (!target.write(text)) await once(target, 'drain');
}

export const usersExport: Command = {
  name: 'users export',
  summary: 'Write every account as JSON Lines (the import format), password hashes included, to stdout or --output FILE.',
  usage: 'gatehouse users export [--output FILE]',
  details: [
    'Options:',
    '  --output FILE   write to FILE (created with mode 0600) instead of standard output',
    'The output holds password hashes: keep it as safe as the database.',
  ].join('\n'),
  options: { output: { type: 'string' } },
  async run({ values, services }) {
    const file = stringOption(values, 'output');
    process.stderr.write('gatehouse: warning: the export holds password hashes; keep it as safe as the database\n');
    const target: Writable = file !== undefined ? createWriteStream(file, { mode: 0o600 }) : process.stdout;
    if (file !== undefined) {
      await once(target, 'open').catch((error: NodeJS.ErrnoException) => {
        throw new CommandFailed(`cannot write ${file}: ${error.code ?? error.message}`);
      });
    }
    let count = 0;
    for await (const account of services.accountsIo.export()) {
      await write(target, `${JSON.stringify(account)}\n`);
      count++;
      if (count % 1000 === 0) progressLine(`${count} accounts written`);
    }
    if (file !== undefined) {
      target.end();
      await once(target, 'finish');
    }
    if (process.stderr.isTTY) process.stderr.write(`\r${count} accounts written\n`);
  },
};
