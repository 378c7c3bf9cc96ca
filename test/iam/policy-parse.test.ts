// Malformed policy documents: each is refused with a PolicyError (code MalformedPolicyDocument)
// whose message says what is wrong and where.
import { describe, expect, it } from 'vitest';
import { MAX_POLICY_BYTES, parsePolicy, PolicyError, type PolicyKind } from '../../src/iam/policy/document.js';

const ALICE = 'arn:aws:iam::111122223333:user/alice';
const ok = { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' };
const okBucket = { ...ok, Principal: '*' };
const policy = (...Statement: object[]): object => ({ Version: '2012-10-17', Statement });
const withCondition = (Condition: unknown): object => policy({ ...ok, Condition });

interface Bad {
  name: string;
  text: string | object;
  kind?: PolicyKind;
  message: RegExp;
}

const BAD: Bad[] = [
  { name: 'invalid JSON', text: '{"Version": "2012-10-17", "Statement": [', message: /^invalid JSON: / },
  { name: 'trailing garbage', text: `${JSON.stringify(policy(ok))} x`, message: /^invalid JSON/ },
  { name: 'not an object', text: '[]', message: /must be a JSON object/ },
  { name: 'a JSON string', text: '"policy"', message: /must be a JSON object/ },
  { name: 'too large', text: JSON.stringify(policy({ ...ok, Sid: 'x'.repeat(MAX_POLICY_BYTES) })), message: /is \d+ bytes; the limit is 20480/ },
  { name: 'unknown top-level field', text: { ...policy(ok), Statements: [] }, message: /unknown top-level field "Statements"/ },
  { name: 'bad Version', text: { Version: '2012-10-18', Statement: [ok] }, message: /Version must be "2012-10-17" or "2008-10-17", not "2012-10-18"/ },
  { name: 'Version as a number', text: { Version: 2012, Statement: [ok] }, message: /Version must be .* not 2012/ },
  { name: 'Id not a string', text: { ...policy(ok), Id: 5 }, message: /Id must be a string/ },
  { name: 'missing Statement', text: { Version: '2012-10-17' }, message: /^missing Statement$/ },
  { name: 'empty Statement list', text: policy(), message: /^Statement is empty$/ },
  { name: 'statement not an object', text: policy('Allow' as unknown as object), message: /^Statement\[0\]: must be an object/ },
  { name: 'missing Effect', text: policy({ Action: 's3:*', Resource: '*' }), message: /^Statement\[0\]: missing Effect/ },
  { name: 'Effect in lower case', text: policy({ ...ok, Effect: 'allow' }), message: /^Statement\[0\]: Effect must be "Allow" or "Deny", not "allow"/ },
  { name: 'Effect not a string', text: policy(ok, { ...ok, Sid: 'Second', Effect: true }), message: /^Statement\[1\] \(Sid "Second"\): Effect must be/ },
  { name: 'unknown statement field', text: policy({ ...ok, Principals: '*' }), message: /^Statement\[0\]: unknown field "Principals"/ },
  { name: 'Sid not a string', text: policy({ ...ok, Sid: 1 }), message: /Sid must be a string/ },
  { name: 'duplicate Sid', text: policy({ ...ok, Sid: 'A' }, { ...ok, Sid: 'A' }), message: /^Statement\[1\] \(Sid "A"\): duplicate Sid "A"/ },
  { name: 'Action and NotAction', text: policy({ ...ok, NotAction: 's3:PutObject' }), message: /^Statement\[0\]: has both Action and NotAction/ },
  { name: 'neither Action nor NotAction', text: policy({ Effect: 'Allow', Resource: '*' }), message: /has neither Action nor NotAction/ },
  { name: 'Resource and NotResource', text: policy({ ...ok, NotResource: '*' }), message: /has both Resource and NotResource/ },
  { name: 'neither Resource nor NotResource (identity)', text: policy({ Effect: 'Allow', Action: '*' }), message: /has neither Resource nor NotResource/ },
  { name: 'neither Resource nor NotResource (bucket)', text: policy({ Effect: 'Allow', Action: '*', Principal: '*' }), kind: 'resource', message: /has neither Resource nor NotResource/ },
  { name: 'Principal in an identity policy', text: policy(okBucket), message: /^Statement\[0\]: an identity policy cannot have Principal or NotPrincipal/ },
  { name: 'NotPrincipal in an identity policy', text: policy({ ...ok, NotPrincipal: { AWS: ALICE } }), message: /an identity policy cannot have Principal or NotPrincipal/ },
  { name: 'missing Principal in a bucket policy', text: policy(okBucket, { ...ok, Sid: 'NoOne' }), kind: 'resource', message: /^Statement\[1\] \(Sid "NoOne"\): a bucket policy statement needs a Principal or NotPrincipal/ },
  { name: 'Principal and NotPrincipal', text: policy({ ...okBucket, NotPrincipal: '*' }), kind: 'resource', message: /has both Principal and NotPrincipal/ },
  { name: 'Principal as an ARN string', text: policy({ ...ok, Principal: ALICE }), kind: 'resource', message: /Principal: must be "\*" or an object/ },
  { name: 'Principal with no principal', text: policy({ ...ok, Principal: {} }), kind: 'resource', message: /Principal: names no principal/ },
  { name: 'unknown principal type', text: policy({ ...ok, Principal: { User: ALICE } }), kind: 'resource', message: /unknown principal type "User"/ },
  { name: 'partial wildcard in a principal', text: policy({ ...ok, Principal: { AWS: 'arn:aws:iam::111122223333:user/*' } }), kind: 'resource', message: /a wildcard may only be the whole principal/ },
  { name: 'principal that is no ARN or account', text: policy({ ...ok, Principal: { AWS: 'alice' } }), kind: 'resource', message: /invalid principal "alice"/ },
  { name: 'empty principal list', text: policy({ ...ok, Principal: { AWS: [] } }), kind: 'resource', message: /"AWS" must be a principal or a non-empty list/ },
  { name: 'action without a vendor', text: policy({ ...ok, Action: 'GetObject' }), message: /Action: action "GetObject": actions must be "\*" or prefaced by a vendor/ },
  { name: 'wildcard vendor', text: policy({ ...ok, Action: '*:GetObject' }), message: /action "\*:GetObject"/ },
  { name: 'empty action list', text: policy({ ...ok, Action: [] }), message: /Action: must be a string or a non-empty list of strings/ },
  { name: 'action not a string', text: policy({ ...ok, NotAction: [5], Action: undefined }), message: /NotAction: must be a string or a non-empty list/ },
  { name: 'resource that is no ARN', text: policy({ ...ok, Resource: 'b/*' }), message: /Resource: "b\/\*" is not an ARN/ },
  { name: 'resource ARN with five parts', text: policy({ ...ok, Resource: 'arn:aws:s3::b' }), message: /"arn:aws:s3::b" is not an ARN/ },
  { name: 'variable before the resource part', text: policy({ ...ok, Resource: 'arn:aws:s3:::b', NotResource: undefined }, { ...ok, Resource: 'arn:aws:iam::${aws:PrincipalAccount}:user/x' }), message: /Statement\[1\]: Resource: .*policy variables may only stand in the resource part/ },
  { name: 'empty policy variable', text: policy({ ...ok, Resource: 'arn:aws:s3:::b/${}' }), message: /empty policy variable/ },
  { name: 'Condition not an object', text: withCondition('x'), message: /^Statement\[0\]: Condition: must be an object/ },
  { name: 'unknown condition operator', text: withCondition({ StringEqualz: { 'aws:username': 'a' } }), message: /Condition: unknown condition operator "StringEqualz"/ },
  { name: 'unknown set operator', text: withCondition({ 'ForSomeValues:StringEquals': { 'aws:TagKeys': 'a' } }), message: /unknown set operator "ForSomeValues"/ },
  { name: 'NullIfExists', text: withCondition({ NullIfExists: { 'aws:TokenIssueTime': 'true' } }), message: /Null takes neither IfExists nor a set operator/ },
  { name: 'ForAnyValue:Null', text: withCondition({ 'ForAnyValue:Null': { 'aws:TagKeys': 'true' } }), message: /Null takes neither IfExists nor a set operator/ },
  { name: 'operator without keys', text: withCondition({ StringEquals: {} }), message: /"StringEquals" has no condition key/ },
  { name: 'operator mapping to a list', text: withCondition({ StringEquals: ['a'] }), message: /"StringEquals" must map condition keys to values/ },
  { name: 'empty condition key', text: withCondition({ StringEquals: { '': 'a' } }), message: /empty condition key/ },
  { name: 'no condition values', text: withCondition({ StringEquals: { 'aws:username': [] } }), message: /"StringEquals" "aws:username": needs at least one value/ },
  { name: 'condition value an object', text: withCondition({ StringEquals: { 'aws:username': { a: 1 } } }), message: /values must be strings, numbers or booleans/ },
  { name: 'condition value null', text: withCondition({ StringEquals: { 'aws:username': null } }), message: /values must be strings, numbers or booleans/ },
  { name: 'bad IP address', text: withCondition({ IpAddress: { 'aws:SourceIp': '10.0.0.256' } }), message: /"IpAddress" "aws:SourceIp": "10.0.0.256" is not an IP address or CIDR range/ },
  { name: 'bad prefix length', text: withCondition({ NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '10.0.0.0/33'] } }), message: /"10.0.0.0\/33" is not an IP address/ },
  { name: 'bad IPv6 address', text: withCondition({ IpAddress: { 'aws:SourceIp': '2001:db8:::1/64' } }), message: /"2001:db8:::1\/64" is not an IP address/ },
  { name: 'hostname as address', text: withCondition({ IpAddressIfExists: { 'aws:SourceIp': 'localhost' } }), message: /"localhost" is not an IP address/ },
  { name: 'bad number', text: withCondition({ NumericLessThan: { 's3:max-keys': 'ten' } }), message: /"ten" is not a number/ },
  { name: 'variable in a numeric condition', text: withCondition({ NumericEquals: { 's3:max-keys': '${aws:username}' } }), message: /is not a number/ },
  { name: 'bad date', text: withCondition({ DateLessThan: { 'aws:CurrentTime': '01/02/2024' } }), message: /"01\/02\/2024" is not a date/ },
  { name: 'bad month', text: withCondition({ DateEquals: { 'aws:CurrentTime': '2024-13-01' } }), message: /"2024-13-01" is not a date/ },
  { name: 'no such day', text: withCondition({ DateGreaterThan: { 'aws:CurrentTime': '2023-02-29T00:00:00Z' } }), message: /"2023-02-29T00:00:00Z" is not a date/ },
  { name: 'bad boolean', text: withCondition({ Bool: { 'aws:SecureTransport': 'yes' } }), message: /"yes" is not true or false/ },
  { name: 'bad Null value', text: withCondition({ Null: { 'aws:TokenIssueTime': 'maybe' } }), message: /Null takes true or false, not "maybe"/ },
  { name: 'BinaryEquals not base64', text: withCondition({ BinaryEquals: { k: 'not base64!' } }), message: /"not base64!" is not base64/ },
  { name: 'ARN condition value that is no ARN', text: withCondition({ ArnLike: { 'aws:PrincipalArn': 'alice' } }), message: /"alice" is not an ARN/ },
];

describe('parsePolicy refuses malformed documents', () => {
  it.each(BAD.map((b) => [b.name, b] as const))('%s', (_name, b) => {
    const text = typeof b.text === 'string' ? b.text : JSON.stringify(b.text);
    let error: unknown;
    try {
      parsePolicy(text, b.kind ?? 'identity');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).code).toBe('MalformedPolicyDocument');
    expect((error as PolicyError).message).toMatch(b.message);
  });
});

describe('parsePolicy accepts the documented forms', () => {
  const good: [string, object, PolicyKind][] = [
    ['a single statement object', { Version: '2012-10-17', Statement: ok }, 'identity'],
    ['no Version', { Statement: [ok] }, 'identity'],
    ['Version 2008-10-17', { Version: '2008-10-17', Id: 'old', Statement: [ok] }, 'identity'],
    ['every principal form', policy({ ...ok, Principal: { AWS: ['*', '111122223333', ALICE, 'arn:aws:iam::111122223333:root'], CanonicalUser: 'abc', Service: 's3.amazonaws.com', Federated: 'cognito-identity.amazonaws.com' } }), 'resource'],
    ['NotPrincipal', policy({ ...ok, NotPrincipal: { AWS: ALICE } }), 'resource'],
    ['every condition operator with IfExists and set operators', withCondition({
      'ForAnyValue:StringLike': { 'aws:TagKeys': ['a*'] },
      'ForAllValues:StringEqualsIgnoreCaseIfExists': { 'aws:TagKeys': 'b' },
      NumericGreaterThanEqualsIfExists: { 's3:max-keys': 10 },
      DateNotEquals: { 'aws:EpochTime': 1700000000 },
      Bool: { 'aws:SecureTransport': false },
      BinaryEquals: { k: 'QQ==' },
      IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '::1', '2001:db8::/32', '::ffff:192.0.2.1'] },
      ArnNotLikeIfExists: { 'aws:SourceArn': 'arn:aws:sns:*:*:${aws:username}' },
      Null: { 'aws:TokenIssueTime': 'true' },
      stringequals: { 'aws:username': 'operators are read without regard to case' },
    }), 'identity'],
  ];
  it.each(good)('%s', (_name, doc, kind) => {
    const p = parsePolicy(JSON.stringify(doc), kind);
    expect(p.text).toBe(JSON.stringify(doc));
    expect(p.kind).toBe(kind);
  });

  it('accepts a document of exactly the size limit', () => {
    const base = JSON.stringify(policy({ ...ok, Sid: '' }));
    const text = JSON.stringify(policy({ ...ok, Sid: 'x'.repeat(MAX_POLICY_BYTES - base.length) }));
    expect(Buffer.byteLength(text)).toBe(MAX_POLICY_BYTES);
    expect(() => parsePolicy(text, 'identity')).not.toThrow();
  });
});
