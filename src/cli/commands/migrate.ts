// gatehouse migrate
import { openDatabase } from '../../storage/database.ts';
import { migrateDatabase } from '../../storage/migrations.ts';
import type { Command } from '../command.ts';

export const migrate: Command = {
  name: 'migrate',
  summary: 'Apply the database migrations and exit (`serve` applies them too, on start).',
  usage: 'gatehouse migrate',
  needsServices: false,
  async run({ config, out }) {
    const database = openDatabase(config.databaseUrl, { poolSize: config.databasePoolSize });
    try {
      const applied = await migrateDatabase(database);
      out.result({ applied }, applied.length === 0 ? 'database is up to date' : applied.map((name) => `applied ${name}`).join('\n'));
    } finally {
      await database.close();
    }
  },
};
