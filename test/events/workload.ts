// An AWS SDK workload that causes every kind of bucket event, and the records a target must then
// hold for it (what S3 would send for the same requests), for the gateway event tests.
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteBucketCommand,
  DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, PutBucketNotificationConfigurationCommand,
  DeleteObjectTaggingCommand, PutObjectCommand, PutObjectTaggingCommand, UploadPartCommand, type Event, type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';

export interface ExpectedEvent {
  eventName: string;
  bucket: string;
  key?: string;
  size?: number;
  eTag?: string;
  configurationId: string;
}

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const MiB = 1024 * 1024;
/** Read events, which S3 does not have and the SDK's types do not list (MinIO and JuiceFS do). */
const ACCESSED = ['s3:ObjectAccessed:Get', 's3:ObjectAccessed:Head'] as unknown as Event[];

/** Rules for `bucket`: created objects under data/ and *.png under img/, every deletion and read. */
export async function configureBucket(s3: S3Client, bucket: string, arn: string): Promise<void> {
  await s3.send(new PutBucketNotificationConfigurationCommand({
    Bucket: bucket,
    NotificationConfiguration: {
      QueueConfigurations: [
        { Id: 'data', QueueArn: arn, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'data/' }] } } },
        { Id: 'png', QueueArn: arn, Events: ['s3:ObjectCreated:Put', 's3:ObjectCreated:Copy'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'img/' }, { Name: 'suffix', Value: '.png' }] } } },
        { Id: 'gone-and-read', QueueArn: arn, Events: ['s3:ObjectRemoved:*', 's3:ObjectTagging:*' as Event, ...ACCESSED] },
      ],
    },
  }));
}

/** Runs the workload in `bucket` (which it creates and configures) and, around it, creates and
 * removes bucket `spare`; returns the object events expected in order, and the bucket events. */
export async function runWorkload(s3: S3Client, bucket: string, spare: string, arn: string): Promise<{ objects: ExpectedEvent[]; buckets: ExpectedEvent[] }> {
  const objects: ExpectedEvent[] = [];
  const buckets: ExpectedEvent[] = [];
  const bucketRule = 'strata-bucket-events';
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  buckets.push({ eventName: 'BucketCreated', bucket, configurationId: bucketRule });
  await configureBucket(s3, bucket, arn);
  await s3.send(new CreateBucketCommand({ Bucket: spare }));
  buckets.push({ eventName: 'BucketCreated', bucket: spare, configurationId: bucketRule });

  const put = async (key: string, body: Buffer | string, rule: string | null) => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    if (rule) objects.push({ eventName: 'ObjectCreated:Put', bucket, key, size: Buffer.byteLength(body), eTag: md5(body), configurationId: rule });
  };
  await put('data/a b+c.txt', 'small object', 'data');
  // Over the gateway's in-memory limit: written to a temp file and renamed into place.
  const big = Buffer.alloc(2 * MiB + 3, 7);
  await put('data/big', big, 'data');
  await put('img/x.png', 'png bytes', 'png');
  await put('img/x.jpg', 'jpg bytes', null);
  await put('other/z', 'other', null);

  await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'data/copy', CopySource: `${bucket}/data/a b+c.txt` }));
  objects.push({ eventName: 'ObjectCreated:Copy', bucket, key: 'data/copy', size: 12, eTag: md5('small object'), configurationId: 'data' });

  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'data/mp' }));
  const partA = Buffer.alloc(5 * MiB, 1);
  const partB = Buffer.from('tail');
  const pa = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'data/mp', UploadId: up.UploadId, PartNumber: 1, Body: partA }));
  const pb = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'data/mp', UploadId: up.UploadId, PartNumber: 2, Body: partB }));
  const done = await s3.send(new CompleteMultipartUploadCommand({
    Bucket: bucket, Key: 'data/mp', UploadId: up.UploadId,
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: pa.ETag }, { PartNumber: 2, ETag: pb.ETag }] },
  }));
  objects.push({ eventName: 'ObjectCreated:CompleteMultipartUpload', bucket, key: 'data/mp', size: partA.length + partB.length, eTag: done.ETag!.replace(/"/g, ''), configurationId: 'data' });

  // A folder object, and a key below it that keeps its directory when the folder object goes.
  await put('data/folder/', '', 'data');
  await put('data/folder/inner', 'inner', 'data');

  await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'img/x.jpg', Tagging: { TagSet: [{ Key: 'stage', Value: 'raw' }] } }));
  objects.push({ eventName: 'ObjectTagging:Put', bucket, key: 'img/x.jpg', configurationId: 'gone-and-read' });
  await s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'img/x.jpg' }));
  objects.push({ eventName: 'ObjectTagging:Delete', bucket, key: 'img/x.jpg', configurationId: 'gone-and-read' });

  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'data/a b+c.txt' }));
  await got.Body!.transformToByteArray();
  objects.push({ eventName: 'ObjectAccessed:Get', bucket, key: 'data/a b+c.txt', size: 12, eTag: md5('small object'), configurationId: 'gone-and-read' });
  await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'img/x.jpg' }));
  objects.push({ eventName: 'ObjectAccessed:Head', bucket, key: 'img/x.jpg', size: 9, eTag: md5('jpg bytes'), configurationId: 'gone-and-read' });

  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'data/a b+c.txt' }));
  objects.push({ eventName: 'ObjectRemoved:Delete', bucket, key: 'data/a b+c.txt', configurationId: 'gone-and-read' });
  await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'data/copy' }, { Key: 'other/z' }] } }));
  objects.push({ eventName: 'ObjectRemoved:Delete', bucket, key: 'data/copy', configurationId: 'gone-and-read' });
  objects.push({ eventName: 'ObjectRemoved:Delete', bucket, key: 'other/z', configurationId: 'gone-and-read' });

  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'data/folder/' }));
  objects.push({ eventName: 'ObjectRemoved:Delete', bucket, key: 'data/folder/', configurationId: 'gone-and-read' });

  await s3.send(new DeleteBucketCommand({ Bucket: spare }));
  buckets.push({ eventName: 'BucketRemoved', bucket: spare, configurationId: bucketRule });
  return { objects, buckets };
}

/** What a namespace-format target holds after the workload: the objects left, by "bucket/key". */
export function namespaceAfter(objects: readonly ExpectedEvent[]): Map<string, ExpectedEvent> {
  const out = new Map<string, ExpectedEvent>();
  for (const e of objects) {
    // Reads change no entry: one arriving after a deletion must not bring the entry back.
    if (e.eventName.startsWith('ObjectRemoved')) out.delete(`${e.bucket}/${e.key}`);
    else if (e.eventName.startsWith('ObjectCreated')) out.set(`${e.bucket}/${e.key}`, e);
  }
  return out;
}

/** The fields of a delivered record the expectation speaks of. */
export function described(record: Record<string, unknown>): ExpectedEvent {
  const s3 = record.s3 as { configurationId: string; bucket: { name: string }; object?: { key: string; size?: number; eTag?: string } };
  const key = s3.object ? decodeURIComponent(s3.object.key.replace(/\+/g, ' ')) : undefined;
  return {
    eventName: String(record.eventName), bucket: s3.bucket.name, configurationId: s3.configurationId,
    ...(key !== undefined ? { key } : {}),
    ...(s3.object?.size !== undefined ? { size: s3.object.size } : {}),
    ...(s3.object?.eTag !== undefined ? { eTag: s3.object.eTag } : {}),
  };
}
