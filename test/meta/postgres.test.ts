// The metadata engine on PostgreSQL: the shared conformance suite, each volume in a database of
// its own on the run's server.
import { databases } from '../helpers/databases.js';
import { formatMeta, openMeta } from '../../src/meta/index.js';
import { metaConformance, type MetaFactoryOptions } from './conformance.js';
import { describe, beforeAll } from 'vitest';

const pg = databases('postgres');

describe.skipIf(pg.skip)('PostgreSQL', () => {
  beforeAll(() => pg.check());
  metaConformance('postgres', async (options: MetaFactoryOptions = {}) => {
    const url = await pg.fresh('conf');
    const { meta } = await formatMeta(url, { name: 't', storage: 'file:///tmp/x', blockSize: 4194304, trashDays: options.trashDays ?? 0 });
    return { meta, reopen: () => openMeta(url), cleanup: async () => undefined };
  });
});
