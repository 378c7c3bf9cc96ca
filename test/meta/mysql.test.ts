// The metadata engine on MariaDB (MySQL): the shared conformance suite, each volume in a database of
// its own on the run's server.
import { databases } from '../helpers/databases.js';
import { formatMeta, openMeta } from '../../src/meta/index.js';
import { metaConformance, type MetaFactoryOptions } from './conformance.js';
import { describe, beforeAll } from 'vitest';

const my = databases('mysql');

describe.skipIf(my.skip)('MariaDB (MySQL)', () => {
  beforeAll(() => my.check());
  metaConformance('mysql', async (options: MetaFactoryOptions = {}) => {
    const url = await my.fresh('conf');
    const { meta } = await formatMeta(url, { name: 't', storage: 'file:///tmp/x', blockSize: 4194304, trashDays: options.trashDays ?? 0 });
    return { meta, reopen: () => openMeta(url), cleanup: async () => undefined };
  });
});
