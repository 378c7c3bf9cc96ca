// GetBucketNotificationConfiguration / PutBucketNotificationConfiguration: a bucket's rules for
// sending event notifications to the gateway's targets (--notify). A PUT replaces the whole
// configuration (an empty one removes it), as in S3; a bad one changes nothing.
import { notificationConfigXml, parseNotificationConfig } from '../../events/config.js';
import { bucketOf, type OpContext } from '../context.js';
import { sendEmpty, sendXml } from '../respond.js';
import { parseBody } from '../xml.js';
import { header } from '../request.js';

const MAX_NOTIFICATION_BODY = 64 * 1024;

export async function getBucketNotification(ctx: OpContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const dir = await ctx.core.buckets.get(bucket);
  sendXml(ctx.res, 200, notificationConfigXml(await ctx.core.notifications.config(bucket, dir.ino)));
}

export async function putBucketNotification(ctx: OpContext): Promise<void> {
  const bucket = bucketOf(ctx);
  const dir = await ctx.core.buckets.get(bucket);
  const root = parseBody(await ctx.body.readAll(MAX_NOTIFICATION_BODY), 'NotificationConfiguration');
  const skip = (header(ctx.req, 'x-amz-skip-destination-validation') ?? '').toLowerCase() === 'true';
  const config = parseNotificationConfig(root, ctx.core.notifications.arns, skip);
  await ctx.core.notifications.setConfig(bucket, dir.ino, config);
  sendEmpty(ctx.res, 200);
}
