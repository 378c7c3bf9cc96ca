// Which S3 operation a request is: from its method, whether it names a bucket and a key, its
// sub-resource query parameters and (for PUT) x-amz-copy-source.
import { getBucketNotification, putBucketNotification } from './ops/bucket-notification.js';
import type { OpContext } from './context.js';
import { getBucketAcl, getObjectAcl, putBucketAcl, putObjectAcl } from './ops/acl.js';
import {
  deleteBucketPolicy, deleteOwnershipControls, deletePublicAccessBlock, getBucketPolicy, getBucketPolicyStatus, getOwnershipControls, getPublicAccessBlock,
  putBucketPolicy, putOwnershipControls, putPublicAccessBlock,
} from './ops/bucket-policy.js';
import { S3Error } from './errors.js';
import { createBucket, deleteBucket, getBucketLocation, getBucketVersioning, headBucket, listBuckets } from './ops/buckets.js';
import { copyObject } from './ops/copy-object.js';
import { deleteNoVersion, deleteObject, deleteObjects } from './ops/delete.js';
import { getObject, headObject } from './ops/get-object.js';
import { listObjectVersions, listObjectsV1, listObjectsV2 } from './ops/list-objects.js';
import {
  abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listMultipartUploads, listParts, uploadPart, uploadPartCopy,
} from './ops/multipart.js';
import { postObject } from './ops/post-object.js';
import { putObject } from './ops/put-object.js';
import { deleteBucketTagging, deleteObjectTagging, getBucketTagging, getObjectTagging, putBucketTagging, putObjectTagging } from './ops/tagging.js';
import type { S3Request } from './request.js';

export interface Route {
  /** The IAM action name the authorizer is asked about. */
  action: string;
  /** The S3 operation (metrics label): several operations share an action (DeleteObjects and
   * DeleteObject, UploadPart and PutObject, DeleteBucketTagging and PutBucketTagging). */
  operation: string;
  write: boolean;
  /** The operation asks the authorizer itself (per key, or to filter what it lists). */
  authorizesItself?: boolean;
  run(ctx: OpContext): Promise<void>;
}

// Each operation's handler is named after it (uploadPart, deleteBucketTagging, ...).
const r = (action: string, write: boolean, run: (ctx: OpContext) => Promise<void>): Route => ({
  action: `s3:${action}`, operation: run.name ? `${run.name[0].toUpperCase()}${run.name.slice(1)}` : action, write, run,
});
const self = (route: Route): Route => ({ ...route, authorizesItself: true });

/** Sub-resources S3 has that this gateway does not serve (answered NotImplemented, not
 * mistaken for a listing or an object read). */
const UNSUPPORTED = [
  'accelerate', 'analytics', 'cors', 'encryption', 'intelligent-tiering', 'inventory', 'legal-hold', 'lifecycle', 'logging',
  'metrics', 'notification', 'object-lock', 'ownershipControls', 'policy', 'policyStatus', 'publicAccessBlock', 'replication',
  'requestPayment', 'restore', 'retention', 'select', 'torrent', 'versions', 'website', 'attributes', 'acl', 'tagging',
];

function notImplemented(what: string): never {
  throw new S3Error('NotImplemented', `${what} is not implemented by this gateway.`);
}

function unsupported(req: S3Request, supported: string[]): void {
  for (const name of UNSUPPORTED) {
    if (req.query.has(name) && !supported.includes(name)) notImplemented(`The "${name}" sub-resource`);
  }
}

/**
 * Headers asking for what this gateway does not do are refused before anything is done, never
 * ignored: a client that asked for server-side encryption must not believe it got it, and a body
 * in bare HTTP chunks (not aws-chunked, which carries its own length) has no length to check
 * against, as AWS says too.
 */
export function refuseUnimplementedHeaders(req: S3Request, awsChunked: boolean): void {
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (name.startsWith('x-amz-server-side-encryption') || name.startsWith('x-amz-copy-source-server-side-encryption')) {
      throw new S3Error('NotImplemented', `Server-side encryption is not implemented by this gateway (header ${name}); nothing was done.`, { Header: name });
    }
  }
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && !awsChunked) {
    throw new S3Error('NotImplemented', 'A header you provided implies functionality that is not implemented: Transfer-Encoding. Send Content-Length (or an aws-chunked body).', { Header: 'Transfer-Encoding' });
  }
}

export function route(req: S3Request): Route {
  const q = req.query;
  const m = req.method;
  if (req.bucket === null) {
    if (m === 'GET') return self(r('ListAllMyBuckets', false, listBuckets));
    throw new S3Error('MethodNotAllowed', `${m} is not allowed on the service; only GET (ListBuckets) is.`);
  }
  if (req.key === null) {
    unsupported(req, ['acl', 'tagging', 'policy', 'policyStatus', 'publicAccessBlock', 'ownershipControls', ...(m === 'GET' || m === 'PUT' ? ['notification'] : []), ...(m === 'GET' ? ['versions'] : [])]);
    switch (m) {
      case 'GET':
        if (q.has('acl')) return r('GetBucketAcl', false, getBucketAcl);
        if (q.has('policy')) return r('GetBucketPolicy', false, getBucketPolicy);
        if (q.has('notification')) return r('GetBucketNotification', false, getBucketNotification);
        if (q.has('policyStatus')) return r('GetBucketPolicyStatus', false, getBucketPolicyStatus);
        if (q.has('publicAccessBlock')) return r('GetBucketPublicAccessBlock', false, getPublicAccessBlock);
        if (q.has('ownershipControls')) return r('GetBucketOwnershipControls', false, getOwnershipControls);
        if (q.has('tagging')) return r('GetBucketTagging', false, getBucketTagging);
        if (q.has('location')) return r('GetBucketLocation', false, getBucketLocation);
        if (q.has('versioning')) return r('GetBucketVersioning', false, getBucketVersioning);
        if (q.has('uploads')) return r('ListBucketMultipartUploads', false, listMultipartUploads);
        if (q.has('versions')) return r('ListBucketVersions', false, listObjectVersions);
        if (q.get('list-type') === '2') return r('ListBucket', false, listObjectsV2);
        if (q.has('list-type')) throw new S3Error('InvalidArgument', `list-type must be 2, got "${q.get('list-type')}".`);
        return r('ListBucket', false, listObjectsV1);
      case 'HEAD':
        return r('ListBucket', false, headBucket);
      case 'PUT':
        if (q.has('versioning')) notImplemented('Bucket versioning');
        if (q.has('tagging')) return r('PutBucketTagging', true, putBucketTagging);
        if (q.has('acl')) return r('PutBucketAcl', true, putBucketAcl);
        if (q.has('policy')) return r('PutBucketPolicy', true, putBucketPolicy);
        if (q.has('notification')) return r('PutBucketNotification', true, putBucketNotification);
        if (q.has('publicAccessBlock')) return r('PutBucketPublicAccessBlock', true, putPublicAccessBlock);
        if (q.has('ownershipControls')) return r('PutBucketOwnershipControls', true, putOwnershipControls);
        if (q.has('policyStatus')) throw new S3Error('MethodNotAllowed', 'The policy status is read-only.');
        return r('CreateBucket', true, createBucket);
      case 'DELETE':
        if (q.has('tagging')) return r('PutBucketTagging', true, deleteBucketTagging);
        if (q.has('policy')) return r('DeleteBucketPolicy', true, deleteBucketPolicy);
        if (q.has('publicAccessBlock')) return r('PutBucketPublicAccessBlock', true, deletePublicAccessBlock);
        if (q.has('ownershipControls')) return r('PutBucketOwnershipControls', true, deleteOwnershipControls);
        if (q.has('acl') || q.has('policyStatus')) throw new S3Error('MethodNotAllowed', 'This sub-resource cannot be deleted here.');
        return r('DeleteBucket', true, deleteBucket);
      case 'POST':
        if (q.has('delete')) return self(r('DeleteObject', true, deleteObjects));
        if (/^multipart\/form-data\b/i.test(String(req.headers['content-type'] ?? ''))) return self(r('PutObject', true, postObject));
        notImplemented('POST on a bucket other than DeleteObjects or a browser form upload (multipart/form-data)');
      default:
        throw new S3Error('MethodNotAllowed', `${m} is not allowed on a bucket.`);
    }
  }
  unsupported(req, m === 'GET' || m === 'PUT' ? ['tagging', 'acl'] : ['tagging']);
  const version = q.get('versionId');
  if (version !== undefined && version !== 'null') {
    // This volume never versions: only the "null" version exists. Deleting another is deleting
    // nothing (S3 answers success, naming the version); anything else about it is NoSuchVersion.
    if (m === 'DELETE' && !q.has('uploadId') && !q.has('tagging')) return r('DeleteObjectVersion', true, deleteNoVersion);
    throw new S3Error('NoSuchVersion', `Version "${version.slice(0, 200)}" does not exist: versioning is not enabled on this volume.`, { Key: req.key, VersionId: version.slice(0, 200) });
  }
  const copy = req.headers['x-amz-copy-source'] !== undefined;
  switch (m) {
    case 'GET':
      if (q.has('acl')) return r('GetObjectAcl', false, getObjectAcl);
      if (q.has('uploadId')) return r('ListMultipartUploadParts', false, listParts);
      if (q.has('tagging')) return r('GetObjectTagging', false, getObjectTagging);
      return r('GetObject', false, getObject);
    case 'HEAD':
      return r('GetObject', false, headObject);
    case 'PUT':
      if (q.has('uploadId') || q.has('partNumber')) return copy ? r('PutObject', true, uploadPartCopy) : r('PutObject', true, uploadPart);
      if (q.has('tagging')) return r('PutObjectTagging', true, putObjectTagging);
      if (q.has('acl')) return r('PutObjectAcl', true, putObjectAcl);
      return copy ? r('PutObject', true, copyObject) : r('PutObject', true, putObject);
    case 'DELETE':
      if (q.has('uploadId')) return r('AbortMultipartUpload', true, abortMultipartUpload);
      if (q.has('tagging')) return r('DeleteObjectTagging', true, deleteObjectTagging);
      return r('DeleteObject', true, deleteObject);
    case 'POST':
      if (q.has('uploads')) return r('PutObject', true, createMultipartUpload);
      if (q.has('uploadId')) return r('PutObject', true, completeMultipartUpload);
      notImplemented('This POST on an object');
    default:
      throw new S3Error('MethodNotAllowed', `${m} is not allowed on an object.`);
  }
}
