// POST Object: browser form uploads (multipart/form-data with a signed policy document).
import type { OpContext } from '../context.js';
import { S3Error } from '../errors.js';

export async function postObject(_ctx: OpContext): Promise<void> {
  throw new S3Error('NotImplemented', 'Browser form uploads (POST Object) are not implemented yet.');
}
