// S3 errors: the codes clients branch on, with the HTTP status S3 gives each. Everything the
// gateway refuses is an S3Error; core (errno) failures are translated here and nowhere else.
import { errorCode } from '../errors/errno.js';

/** HTTP status and default message of each S3 error code the gateway answers with. */
const CATALOGUE: Readonly<Record<string, [number, string]>> = {
  AccessDenied: [403, 'Access Denied.'],
  AuthorizationHeaderMalformed: [400, 'The authorization header is malformed.'],
  AuthorizationQueryParametersError: [400, 'The presigned URL query parameters are malformed.'],
  BadDigest: [400, 'The checksum you specified did not match the checksum of the data received.'],
  BucketAlreadyExists: [409, 'The requested bucket name is not available.'],
  BucketAlreadyOwnedByYou: [409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  BucketNotEmpty: [409, 'The bucket you tried to delete is not empty.'],
  EntityTooLarge: [400, 'Your proposed upload exceeds the maximum allowed size.'],
  EntityTooSmall: [400, 'Your proposed upload is smaller than the minimum allowed object size.'],
  ExpiredToken: [400, 'The provided token has expired.'],
  IncompleteBody: [400, 'You did not provide the number of bytes specified by the Content-Length HTTP header.'],
  InternalError: [500, 'We encountered an internal error. Please try again.'],
  InvalidAccessKeyId: [403, 'The AWS access key ID you provided does not exist in our records.'],
  InvalidArgument: [400, 'Invalid argument.'],
  InvalidBucketName: [400, 'The specified bucket is not valid.'],
  InvalidDigest: [400, 'The Content-MD5 or checksum value you specified is not valid.'],
  InvalidPart: [400, 'One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part\'s entity tag.'],
  InvalidPartOrder: [400, 'The list of parts was not in ascending order. Parts must be ordered by part number.'],
  InvalidRange: [416, 'The requested range is not satisfiable.'],
  InvalidRequest: [400, 'Invalid request.'],
  // Refusals of this gateway (AWS S3 stores any key; a file system cannot).
  InvalidObjectName: [400, 'The object key cannot be stored as a path.'],
  ParentIsObject: [409, 'A prefix of the key is an object, which cannot also be a directory.'],
  ObjectExistsAsDirectory: [409, 'The key names a directory holding other objects.'],
  InvalidURI: [400, 'Couldn\'t parse the specified URI.'],
  InvalidLocationConstraint: [400, 'The specified location constraint is not valid.'],
  InvalidObjectState: [403, 'The operation is not valid for the current state of the object.'],
  KeyTooLongError: [400, 'Your key is too long.'],
  MalformedXML: [400, 'The XML you provided was not well-formed or did not validate against our published schema.'],
  MetadataTooLarge: [400, 'Your metadata headers exceed the maximum allowed metadata size.'],
  MethodNotAllowed: [405, 'The specified method is not allowed against this resource.'],
  MissingContentLength: [411, 'You must provide the Content-Length HTTP header.'],
  MissingSecurityHeader: [400, 'Your request is missing a required header.'],
  NoSuchBucket: [404, 'The specified bucket does not exist.'],
  NoSuchKey: [404, 'The specified key does not exist.'],
  NoSuchTagSet: [404, 'There is no tag set associated with the object.'],
  NoSuchVersion: [404, 'The specified version does not exist.'],
  NoSuchUpload: [404, 'The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.'],
  NotImplemented: [501, 'A header or query you provided implies functionality that is not implemented.'],
  NotModified: [304, 'Not Modified.'],
  PreconditionFailed: [412, 'At least one of the preconditions you specified did not hold.'],
  RequestHeaderSectionTooLarge: [400, 'Your request header section exceeds the maximum allowed size.'],
  RequestTimeTooSkewed: [403, 'The difference between the request time and the server\'s time is too large.'],
  RequestTimeout: [400, 'Your socket connection to the server was not read from or written to within the timeout period.'],
  ServiceUnavailable: [503, 'Reduce your request rate.'],
  SignatureDoesNotMatch: [403, 'The request signature we calculated does not match the signature you provided. Check your key and signing method.'],
  XAmzContentSHA256Mismatch: [400, 'The provided \'x-amz-content-sha256\' header does not match what was computed.'],
  InvalidTag: [400, 'The tag provided was not a valid tag.'],
  InvalidToken: [400, 'The provided token is malformed or otherwise invalid.'],
  MalformedPolicy: [400, 'Policies must be valid JSON and the first byte must be \'{\'.'],
  NoSuchBucketPolicy: [404, 'The bucket policy does not exist.'],
  NoSuchPublicAccessBlockConfiguration: [404, 'The public access block configuration was not found.'],
  AccessControlListNotSupported: [400, 'The bucket does not allow ACLs.'],
  InvalidBucketAclWithObjectOwnership: [400, 'Bucket cannot have ACLs set with ObjectOwnership\'s BucketOwnerEnforced setting.'],
  UnresolvableGrantByEmailAddress: [400, 'The email address you provided does not match any account on record.'],
  BadRequest: [400, 'Bad Request.'],
  AccessForbidden: [403, 'CORSResponse: This CORS request is not allowed.'],
  UnexpectedContent: [400, 'This request does not support content.'],
  MalformedACLError: [400, 'The XML you provided was not well-formed or did not validate against our published schema.'],
  OwnershipControlsNotFoundError: [404, 'The bucket ownership controls were not found.'],
};

export class S3Error extends Error {
  readonly code: string;
  readonly status: number;
  /** Extra elements S3 puts in the error document (e.g. the part number that is too small). */
  readonly extra: Record<string, string>;
  /** Response headers that go with the error (e.g. Content-Range for InvalidRange). */
  readonly headers: Record<string, string>;

  constructor(code: string, message?: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}) {
    const known = CATALOGUE[code];
    super(message ?? known?.[1] ?? code);
    this.name = 'S3Error';
    this.code = code;
    this.status = known?.[0] ?? 400;
    this.extra = extra;
    this.headers = headers;
  }
}

export function s3Error(code: string, message?: string, extra?: Record<string, string>): S3Error {
  return new S3Error(code, message, extra);
}

/** What went wrong in the core, as S3 tells a client: a path that is not there is the missing
 * key (or bucket), a full volume is a refused upload, anything unexpected an internal error. */
export function fromCoreError(err: unknown, missing: 'NoSuchKey' | 'NoSuchBucket' = 'NoSuchKey'): S3Error {
  if (err instanceof S3Error) return err;
  const code = errorCode(err);
  const why = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new S3Error(missing);
    case 'EISDIR':
      return new S3Error('InvalidRequest', 'The key names a directory, not an object.');
    case 'ENOSPC':
    case 'EDQUOT':
      return new S3Error('EntityTooLarge', `The volume is full: ${why}`);
    case 'EACCES':
    case 'EPERM':
      return new S3Error('AccessDenied', `The volume refused the operation: ${why}`);
    case 'EROFS':
      return new S3Error('AccessDenied', 'The volume is read-only.');
    case 'ENAMETOOLONG':
      return new S3Error('KeyTooLongError');
    case 'EEXIST':
      return new S3Error('InvalidRequest', `A file or directory is in the way: ${why}`);
    case 'EAGAIN':
    case 'EBUSY':
      return new S3Error('ServiceUnavailable', `The volume is busy: ${why}`);
    default:
      return new S3Error('InternalError', `We encountered an internal error: ${why}`);
  }
}
