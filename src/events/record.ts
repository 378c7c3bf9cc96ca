// The S3 event record (one element of an event message's Records[]), as S3 writes it, so a
// consumer written for S3 parses Strata's unchanged. The sequencer is the queue's order and is
// filled in when the record leaves the queue.
export interface EventFacts {
  /** "s3:ObjectCreated:Put", "s3:BucketCreated", ... */
  name: string;
  bucket: string;
  /** Object events only. */
  key?: string;
  size?: number;
  etag?: string;
  time: Date;
  region: string;
  /** Who made the request (aws:userid, or the access key for the account's root). */
  principalId: string;
  sourceIp: string;
  requestId: string;
  /** The notification rule's Id. */
  configurationId: string;
  /** The bucket owner's canonical id. */
  ownerId: string;
}

export type S3EventRecord = Record<string, unknown> & { s3: Record<string, unknown> & { object?: Record<string, unknown> } };

/** Keys in event records are URL-encoded as S3 does it: form encoding ("+" for a space), "/" kept. */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}

export function s3EventRecord(f: EventFacts): S3EventRecord {
  const object = f.key === undefined ? undefined : {
    key: encodeEventKey(f.key),
    ...(f.size !== undefined ? { size: f.size } : {}),
    ...(f.etag !== undefined ? { eTag: f.etag } : {}),
  };
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: f.region,
    eventTime: f.time.toISOString(),
    // Records name the event without the "s3:" of configurations, as S3 does.
    eventName: f.name.replace(/^s3:/, ''),
    userIdentity: { principalId: f.principalId },
    requestParameters: { sourceIPAddress: f.sourceIp },
    responseElements: { 'x-amz-request-id': f.requestId, 'x-amz-id-2': f.requestId },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: f.configurationId,
      bucket: { name: f.bucket, ownerIdentity: { principalId: f.ownerId }, arn: `arn:aws:s3:::${f.bucket}` },
      ...(object ? { object } : {}),
    },
  };
}

/** The record as delivered: its sequencer is the queue position (hex, fixed width, so sequencers
 * of one key compare as strings in the order the changes were made). */
export function withSequencer(record: S3EventRecord, seq: number): S3EventRecord {
  if (!record.s3.object) return record;
  return { ...record, s3: { ...record.s3, object: { ...record.s3.object, sequencer: seq.toString(16).toUpperCase().padStart(16, '0') } } };
}
