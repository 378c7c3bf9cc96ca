// Hand-written policy evaluation cases, taken from the AWS documentation: the IAM JSON policy
// reference (elements, condition operators, policy variables, evaluation logic) and the Amazon S3
// bucket policy examples. Each case names its doc topic; requests are within account
// 111122223333, made by the user alice unless they say otherwise.

export type Expected = 'allow' | 'deny' | 'implicit';

export interface CaseRequest {
  action: string;
  resource: string;
  /** Default alice; null for an anonymous request. */
  principal?: string | null;
  canonicalId?: string;
  /** Keys as AWS spells them; the runner normalizes them. */
  context?: Record<string, string | string[]>;
}

export interface PolicyCase {
  name: string;
  identity?: object[];
  resource?: object[];
  limits?: object[][];
  request: CaseRequest;
  expect: Expected;
}

export const ACCOUNT = '111122223333';
export const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
export const BOB = `arn:aws:iam::${ACCOUNT}:user/bob`;
export const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const CAROL_ELSEWHERE = 'arn:aws:iam::444455556666:user/carol';

type Json = Record<string, unknown>;
const doc = (...Statement: Json[]): Json => ({ Version: '2012-10-17', Statement });
const allow = (Action: unknown, Resource: unknown, extra: Json = {}): Json => ({ Effect: 'Allow', Action, Resource, ...extra });
const deny = (Action: unknown, Resource: unknown, extra: Json = {}): Json => ({ Effect: 'Deny', Action, Resource, ...extra });
const when = (Condition: Json): Json => ({ Condition });

/** A request: action, resource, then optionally the context and the principal. */
const req = (action: string, resource: string, context: Record<string, string | string[]> = {}, principal: string | null = ALICE): CaseRequest => ({
  action,
  resource,
  context,
  principal,
});

type Row = [label: string, request: CaseRequest, expect: Expected];
interface Sets {
  identity?: object[];
  resource?: object[];
  limits?: object[][];
}

/** Several requests against the same policies. */
function scenario(topic: string, sets: Sets, rows: Row[]): PolicyCase[] {
  return rows.map(([label, request, expect]) => ({ name: `${topic}: ${label}`, ...sets, request, expect }));
}

const OBJ = 'arn:aws:s3:::amzn-s3-demo-bucket/photos/cat.jpg';
const BUCKET = 'arn:aws:s3:::amzn-s3-demo-bucket';
const ALL_OBJECTS = 'arn:aws:s3:::amzn-s3-demo-bucket/*';
const get = (resource = OBJ, context: Record<string, string | string[]> = {}, principal: string | null = ALICE): CaseRequest =>
  req('s3:GetObject', resource, context, principal);

// --- Policy evaluation logic (reference_policies_evaluation-logic) -----------------------------

const evaluationLogic: PolicyCase[] = [
  ...scenario('Evaluation logic: default deny', {}, [['no policy at all', get(), 'implicit']]),
  ...scenario('Evaluation logic: default deny', { identity: [doc(allow('s3:PutObject', ALL_OBJECTS))] }, [
    ['an allow for another action', get(), 'implicit'],
    ['the allowed action', req('s3:PutObject', OBJ), 'allow'],
  ]),
  ...scenario(
    'Evaluation logic: explicit deny overrides allow',
    { identity: [doc(allow('s3:*', '*'), deny('s3:DeleteObject', ALL_OBJECTS))] },
    [
      ['the allowed action', get(), 'allow'],
      ['the denied action', req('s3:DeleteObject', OBJ), 'deny'],
      ['the denied action on another bucket', req('s3:DeleteObject', 'arn:aws:s3:::other/k'), 'allow'],
    ],
  ),
  ...scenario(
    'Evaluation logic: a deny in one policy overrides an allow in another',
    { identity: [doc(deny('s3:GetObject', '*')), doc(allow('s3:GetObject', '*'))] },
    [['deny stated first', get(), 'deny']],
  ),
  ...scenario(
    'Evaluation logic: a deny in one policy overrides an allow in another',
    { identity: [doc(allow('s3:GetObject', '*')), doc(deny('s3:GetObject', '*'))] },
    [['deny stated last', get(), 'deny']],
  ),
  ...scenario(
    'Evaluation logic: same account, a resource-based policy grant to the user is enough',
    { resource: [doc(allow('s3:GetObject', ALL_OBJECTS, { Principal: { AWS: ALICE } }))] },
    [
      ['alice, no identity policy', get(), 'allow'],
      ['bob is not named', get(OBJ, {}, BOB), 'implicit'],
    ],
  ),
  ...scenario(
    'Evaluation logic: a deny in the resource-based policy overrides an identity allow',
    { identity: [doc(allow('s3:*', '*'))], resource: [doc(deny('s3:GetObject', ALL_OBJECTS, { Principal: '*' }))] },
    [
      ['denied action', get(), 'deny'],
      ['other action', req('s3:PutObject', OBJ), 'allow'],
    ],
  ),
  ...scenario(
    'Evaluation logic: an identity deny overrides a resource-based allow',
    { identity: [doc(deny('s3:GetObject', '*'))], resource: [doc(allow('s3:GetObject', ALL_OBJECTS, { Principal: '*' }))] },
    [['denied by identity policy', get(), 'deny']],
  ),
  ...scenario(
    'Evaluation logic: session policies limit identity-based permissions',
    { identity: [doc(allow('s3:*', '*'))], limits: [[doc(allow('s3:GetObject', ALL_OBJECTS))]] },
    [
      ['allowed by both', get(), 'allow'],
      ['allowed by identity only', req('s3:PutObject', OBJ), 'implicit'],
    ],
  ),
  ...scenario(
    'Evaluation logic: a session policy never grants by itself',
    { identity: [doc(allow('s3:PutObject', '*'))], limits: [[doc(allow('s3:*', '*'))]] },
    [['allowed by the session policy only', get(), 'implicit']],
  ),
  ...scenario(
    'Evaluation logic: an explicit deny in a session policy',
    {
      identity: [doc(allow('s3:*', '*'))],
      resource: [doc(allow('s3:GetObject', ALL_OBJECTS, { Principal: { AWS: ALICE } }))],
      limits: [[doc(allow('s3:*', '*'), deny('s3:GetObject', '*'))]],
    },
    [['denies even what the bucket policy grants', get(), 'deny']],
  ),
  ...scenario(
    'Evaluation logic: a bucket policy grant naming the user is not narrowed (simplified session logic)',
    { resource: [doc(allow('s3:GetObject', ALL_OBJECTS, { Principal: { AWS: ALICE } }))], limits: [[doc(allow('s3:PutObject', '*'))]] },
    [['granted by the bucket policy', get(), 'allow']],
  ),
  ...scenario(
    'Evaluation logic: every narrowing set must allow',
    { identity: [doc(allow('s3:*', '*'))], limits: [[doc(allow('s3:Get*', '*'))], [doc(allow('s3:*Object', '*'))]] },
    [
      ['allowed by both sets', get(), 'allow'],
      ['allowed by the first set only', req('s3:GetBucketPolicy', BUCKET), 'implicit'],
      ['allowed by the second set only', req('s3:PutObject', OBJ), 'implicit'],
    ],
  ),
  ...scenario('Evaluation logic: an empty list of narrowing sets narrows nothing', { identity: [doc(allow('s3:*', '*'))], limits: [] }, [
    ['allowed', get(), 'allow'],
  ]),
  ...scenario(
    'Evaluation logic: a narrowing set with no policies allows nothing',
    { identity: [doc(allow('s3:*', '*'))], limits: [[]] },
    [['implicitly denied', get(), 'implicit']],
  ),
  ...scenario(
    'Evaluation logic: anonymous requests have no identity policies',
    { identity: [doc(allow('s3:*', '*'), deny('s3:PutObject', '*'))] },
    [
      ['an identity allow does not apply', get(OBJ, {}, null), 'implicit'],
      ['nor does an identity deny', req('s3:PutObject', OBJ, {}, null), 'implicit'],
    ],
  ),
];

// --- Action and NotAction (reference_policies_elements_action, _notaction) ---------------------

const actions: PolicyCase[] = [
  ...scenario('Action: a single action', { identity: [doc(allow('s3:GetObject', '*'))] }, [
    ['exact', get(), 'allow'],
    ['a longer action with the same prefix', req('s3:GetObjectAcl', OBJ), 'implicit'],
    ['another service', req('iam:GetUser', ALICE), 'implicit'],
  ]),
  ...scenario('Action: action names are not case-sensitive', { identity: [doc(allow('S3:GETOBJECT', '*'))] }, [
    ['upper-case policy, mixed-case request', get(), 'allow'],
    ['lower-case request', req('s3:getobject', OBJ), 'allow'],
  ]),
  ...scenario('Action: all actions of a service, "s3:*"', { identity: [doc(allow('s3:*', '*'))] }, [
    ['an S3 action', req('s3:PutObject', OBJ), 'allow'],
    ['an IAM action', req('iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/zed`), 'implicit'],
  ]),
  ...scenario('Action: every action, "*"', { identity: [doc(allow('*', '*'))] }, [
    ['iam:CreateUser', req('iam:CreateUser', `arn:aws:iam::${ACCOUNT}:user/zed`), 'allow'],
    ['sts:AssumeRole', req('sts:AssumeRole', `arn:aws:iam::${ACCOUNT}:role/admin`), 'allow'],
  ]),
  ...scenario('Action: wildcard at the end, "s3:Get*"', { identity: [doc(allow('s3:Get*', '*'))] }, [
    ['GetObject', get(), 'allow'],
    ['GetBucketPolicy', req('s3:GetBucketPolicy', BUCKET), 'allow'],
    ['PutObject', req('s3:PutObject', OBJ), 'implicit'],
  ]),
  ...scenario('Action: wildcard at the start, "s3:*Object"', { identity: [doc(allow('s3:*Object', '*'))] }, [
    ['DeleteObject', req('s3:DeleteObject', OBJ), 'allow'],
    ['ListBucket', req('s3:ListBucket', BUCKET), 'implicit'],
  ]),
  ...scenario('Action: wildcards in the middle, "iam:*AccessKey*"', { identity: [doc(allow('iam:*AccessKey*', '*'))] }, [
    ['CreateAccessKey', req('iam:CreateAccessKey', ALICE), 'allow'],
    ['ListAccessKeys', req('iam:ListAccessKeys', ALICE), 'allow'],
    ['CreateUser', req('iam:CreateUser', ALICE), 'implicit'],
  ]),
  ...scenario('Action: single-character wildcard "?"', { identity: [doc(allow('s3:?etObject', '*'))] }, [
    ['GetObject', get(), 'allow'],
    ['PutObject is not ?etObject', req('s3:PutObject', OBJ), 'implicit'],
  ]),
  ...scenario('Action: a list of actions', { identity: [doc(allow(['sqs:SendMessage', 'sqs:ReceiveMessage', 's3:GetObject'], '*'))] }, [
    ['first of the list', req('sqs:SendMessage', 'arn:aws:sqs:us-east-2:111122223333:queue'), 'allow'],
    ['last of the list', get(), 'allow'],
    ['not in the list', req('sqs:DeleteQueue', 'arn:aws:sqs:us-east-2:111122223333:queue'), 'implicit'],
  ]),
  ...scenario('NotAction: allow every action but IAM ones', { identity: [doc({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' })] }, [
    ['an S3 action', get(), 'allow'],
    ['an IAM action', req('iam:CreateUser', ALICE), 'implicit'],
  ]),
  ...scenario(
    'NotAction: deny everything but IAM when not signed in with MFA',
    {
      identity: [
        doc(allow('*', '*'), {
          Effect: 'Deny',
          NotAction: 'iam:*',
          Resource: '*',
          Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
        }),
      ],
    },
    [
      ['S3 without MFA information', get(), 'deny'],
      ['S3 without MFA', get(OBJ, { 'aws:MultiFactorAuthPresent': 'false' }), 'deny'],
      ['S3 with MFA', get(OBJ, { 'aws:MultiFactorAuthPresent': 'true' }), 'allow'],
      ['IAM without MFA', req('iam:ChangePassword', ALICE), 'allow'],
    ],
  ),
  ...scenario('NotAction: a list', { identity: [doc({ Effect: 'Deny', NotAction: ['s3:Get*', 's3:List*'], Resource: '*' }, allow('s3:*', '*'))] }, [
    ['read', get(), 'allow'],
    ['list', req('s3:ListBucket', BUCKET), 'allow'],
    ['write is denied', req('s3:PutObject', OBJ), 'deny'],
  ]),
];

// --- Resource and NotResource (reference_policies_elements_resource, _notresource) -----------

const resources: PolicyCase[] = [
  ...scenario('Resource: a bucket ARN names the bucket, not its objects', { identity: [doc(allow('s3:*', BUCKET))] }, [
    ['the bucket', req('s3:ListBucket', BUCKET), 'allow'],
    ['an object', get(), 'implicit'],
  ]),
  ...scenario('Resource: bucket/* names every object, keys with slashes included', { identity: [doc(allow('s3:*', ALL_OBJECTS))] }, [
    ['a nested key', get('arn:aws:s3:::amzn-s3-demo-bucket/a/b/c/d.txt'), 'allow'],
    ['the bucket itself', req('s3:ListBucket', BUCKET), 'implicit'],
    ['a bucket with a longer name', get('arn:aws:s3:::amzn-s3-demo-bucket2/k'), 'implicit'],
  ]),
  ...scenario('Resource: "*" names everything', { identity: [doc(allow('s3:*', '*'))] }, [
    ['an object', get(), 'allow'],
    ['a bucket', req('s3:ListBucket', BUCKET), 'allow'],
  ]),
  ...scenario(
    'Resource: wildcards in the middle of the resource path',
    { identity: [doc(allow('s3:GetObject', 'arn:aws:s3:::amzn-s3-demo-bucket/*/public/*'))] },
    [
      ['under any folder', get('arn:aws:s3:::amzn-s3-demo-bucket/team/public/a.txt'), 'allow'],
      ['deeper', get('arn:aws:s3:::amzn-s3-demo-bucket/a/b/public/c/d.txt'), 'allow'],
      ['not public', get('arn:aws:s3:::amzn-s3-demo-bucket/team/private/a.txt'), 'implicit'],
    ],
  ),
  ...scenario('Resource: "?" matches exactly one character', { identity: [doc(allow('s3:GetObject', 'arn:aws:s3:::amzn-s3-demo-bucket/log-?.txt'))] }, [
    ['one character', get('arn:aws:s3:::amzn-s3-demo-bucket/log-1.txt'), 'allow'],
    ['two characters', get('arn:aws:s3:::amzn-s3-demo-bucket/log-12.txt'), 'implicit'],
    ['none', get('arn:aws:s3:::amzn-s3-demo-bucket/log-.txt'), 'implicit'],
  ]),
  ...scenario('Resource: ARNs are case-sensitive', { identity: [doc(allow('s3:GetObject', 'arn:aws:s3:::amzn-s3-demo-bucket/Photos/*'))] }, [
    ['same case', get('arn:aws:s3:::amzn-s3-demo-bucket/Photos/a.jpg'), 'allow'],
    ['other case', get('arn:aws:s3:::amzn-s3-demo-bucket/photos/a.jpg'), 'implicit'],
  ]),
  ...scenario('Resource: a list of resources', { identity: [doc(allow('s3:*', [BUCKET, ALL_OBJECTS]))] }, [
    ['the bucket', req('s3:ListBucket', BUCKET), 'allow'],
    ['an object', get(), 'allow'],
    ['another bucket', req('s3:ListBucket', 'arn:aws:s3:::other'), 'implicit'],
  ]),
  ...scenario('Resource: IAM users by path, "user/*"', { identity: [doc(allow('iam:GetUser', `arn:aws:iam::${ACCOUNT}:user/*`))] }, [
    ['a user', req('iam:GetUser', ALICE), 'allow'],
    ['a user with a path', req('iam:GetUser', `arn:aws:iam::${ACCOUNT}:user/division_abc/subdivision_xyz/bob`), 'allow'],
    ['a role', req('iam:GetUser', `arn:aws:iam::${ACCOUNT}:role/admin`), 'implicit'],
  ]),
  ...scenario('Resource: a wildcard in the account part', { identity: [doc(allow('iam:GetUser', 'arn:aws:iam::*:user/alice'))] }, [
    ['this account', req('iam:GetUser', ALICE), 'allow'],
    ['another account', req('iam:GetUser', 'arn:aws:iam::444455556666:user/alice'), 'allow'],
    ['another user', req('iam:GetUser', BOB), 'implicit'],
  ]),
  ...scenario('Resource: a wildcard in the partition', { identity: [doc(allow('s3:GetObject', 'arn:*:s3:::amzn-s3-demo-bucket/*'))] }, [
    ['aws', get(), 'allow'],
    ['aws-cn', get('arn:aws-cn:s3:::amzn-s3-demo-bucket/k'), 'allow'],
  ]),
  ...scenario(
    'Resource: a wildcard never spans the colons between ARN parts',
    { identity: [doc(allow('iam:GetUser', 'arn:aws:iam::1*:user/alice'), allow('s3:GetObject', 'arn:aws:*:::amzn-s3-demo-bucket/*'))] },
    [
      ['account starting with 1', req('iam:GetUser', ALICE), 'allow'],
      ['account starting with 4', req('iam:GetUser', 'arn:aws:iam::444455556666:user/alice'), 'implicit'],
      ['service wildcard within its part', get(), 'allow'],
      ['service wildcard cannot eat the region and account', get('arn:aws:s3:x:y:amzn-s3-demo-bucket/k'), 'implicit'],
    ],
  ),
  ...scenario('Resource: the resource part may hold colons', { identity: [doc(allow('s3:GetObject', 'arn:aws:s3:::amzn-s3-demo-bucket/a*'))] }, [
    ['a key with colons', get('arn:aws:s3:::amzn-s3-demo-bucket/a:b:c'), 'allow'],
  ]),
  ...scenario(
    'NotResource: allow everything except one bucket',
    { identity: [doc({ Effect: 'Allow', Action: 's3:*', NotResource: ['arn:aws:s3:::hr-bucket', 'arn:aws:s3:::hr-bucket/*'] })] },
    [
      ['another bucket', get(), 'allow'],
      ['the excluded bucket', req('s3:ListBucket', 'arn:aws:s3:::hr-bucket'), 'implicit'],
      ['an object of the excluded bucket', get('arn:aws:s3:::hr-bucket/salaries.csv'), 'implicit'],
    ],
  ),
  ...scenario(
    'NotResource: deny everything outside one bucket',
    { identity: [doc(allow('s3:*', '*'), { Effect: 'Deny', Action: 's3:*', NotResource: [BUCKET, ALL_OBJECTS] })] },
    [
      ['inside', get(), 'allow'],
      ['outside', get('arn:aws:s3:::other/k'), 'deny'],
    ],
  ),
  ...scenario('NotResource: "*" excludes everything', { identity: [doc({ Effect: 'Allow', Action: 's3:*', NotResource: '*' })] }, [
    ['nothing is allowed', get(), 'implicit'],
  ]),
];

// --- Principal and NotPrincipal (reference_policies_elements_principal, _notprincipal) -------

const principals: PolicyCase[] = [
  ...scenario(
    'Principal: "*" is everyone, anonymous users included (S3: granting read-only permission to public anonymous users)',
    { resource: [doc(allow('s3:GetObject', ALL_OBJECTS, { Sid: 'PublicRead', Principal: '*' }))] },
    [
      ['anonymous read', get(OBJ, {}, null), 'allow'],
      ['anonymous write', req('s3:PutObject', OBJ, {}, null), 'implicit'],
      ['a user reads', get(), 'allow'],
      ['anonymous read of another bucket', get('arn:aws:s3:::other/k', {}, null), 'implicit'],
    ],
  ),
  ...scenario('Principal: {"AWS": "*"} is the same as "*"', { resource: [doc(allow('s3:GetObject', ALL_OBJECTS, { Principal: { AWS: '*' } }))] }, [
    ['anonymous', get(OBJ, {}, null), 'allow'],
    ['a user', get(OBJ, {}, BOB), 'allow'],
  ]),
  ...scenario('Principal: a list of IAM users', { resource: [doc(allow('s3:GetObject', ALL_OBJECTS, { Principal: { AWS: [ALICE, BOB] } }))] }, [
    ['alice', get(), 'allow'],
    ['bob', get(OBJ, {}, BOB), 'allow'],
    ['a user of another account', get(OBJ, {}, CAROL_ELSEWHERE), 'implicit'],
    ['anonymous', get(OBJ, {}, null), 'implicit'],
  ]),
  ...scenario(
    'Principal: an account id delegates to the account (its users still need identity permissions)',
    { resource: [doc(allow('s3:GetObject', ALL_OBJECTS, { Principal: { AWS: ACCOUNT } }))] },
    [
      ['alice, no identity policy', get(), 'implicit'],
      ['anonymous', get(OBJ, {}, null), 'implicit'],
    ],
  ),
  ...scenario(
    'Principal: an account id delegates to the account (its users still need identity permissions)',
    { identity: [doc(allow('s3:GetObject', '*'))], resource: [doc(allow('s3:GetObject', ALL_OBJECTS, { Principal: { AWS: ROOT } }))] },
    [['alice with an identity policy', get(), 'allow']],
  ),
  ...scenario(
    'Principal: a Deny naming the account applies to all its principals',
    { identity: [doc(allow('s3:*', '*'))], resource: [doc(deny('s3:DeleteObject', ALL_OBJECTS, { Principal: { AWS: ROOT } }))] },
    [
      ['alice', req('s3:DeleteObject', OBJ), 'deny'],
      ['the account root', req('s3:DeleteObject', OBJ, {}, ROOT), 'deny'],
      ['another action', get(), 'allow'],
    ],
  ),
  ...scenario(
    'Principal: another account named in a Deny does not concern this one',
    { identity: [doc(allow('s3:*', '*'))], resource: [doc(deny('s3:*', ALL_OBJECTS, { Principal: { AWS: '444455556666' } }))] },
    [
      ['alice', get(), 'allow'],
      ['carol of that account', get(OBJ, {}, CAROL_ELSEWHERE), 'deny'],
    ],
  ),
  ...scenario(
    'Principal: canonical user id (S3)',
    { resource: [doc(allow('s3:GetObject', ALL_OBJECTS, { Principal: { CanonicalUser: '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be' } }))] },
    [
      ['the canonical user', { ...get(), canonicalId: '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be' }, 'allow'],
      ['another canonical user', { ...get(), canonicalId: 'abc' }, 'implicit'],
      ['no canonical id', get(), 'implicit'],
    ],
  ),
  ...scenario('Principal: a service principal names no user', { resource: [doc(allow('s3:PutObject', ALL_OBJECTS, { Principal: { Service: 'logging.s3.amazonaws.com' } }))] }, [
    ['alice', req('s3:PutObject', OBJ), 'implicit'],
  ]),
  ...scenario(
    'NotPrincipal: deny everyone except the named user',
    { identity: [doc(allow('s3:*', '*'))], resource: [doc({ Effect: 'Deny', NotPrincipal: { AWS: [ALICE] }, Action: 's3:*', Resource: [BUCKET, ALL_OBJECTS] })] },
    [
      ['alice is excepted', get(), 'allow'],
      ['bob is denied', get(OBJ, {}, BOB), 'deny'],
      ['anonymous is denied', get(OBJ, {}, null), 'deny'],
    ],
  ),
  ...scenario(
    'NotPrincipal: naming the account excepts all of its principals',
    { identity: [doc(allow('s3:*', '*'))], resource: [doc({ Effect: 'Deny', NotPrincipal: { AWS: ACCOUNT }, Action: 's3:*', Resource: '*' })] },
    [
      ['bob', get(OBJ, {}, BOB), 'allow'],
      ['another account', get(OBJ, {}, CAROL_ELSEWHERE), 'deny'],
    ],
  ),
  ...scenario(
    'NotPrincipal: with Allow, everyone but the named',
    { resource: [doc({ Effect: 'Allow', NotPrincipal: { AWS: BOB }, Action: 's3:GetObject', Resource: ALL_OBJECTS })] },
    [
      ['alice', get(), 'allow'],
      ['anonymous', get(OBJ, {}, null), 'allow'],
      ['bob', get(OBJ, {}, BOB), 'implicit'],
    ],
  ),
];

// --- Condition operators (reference_policies_elements_condition_operators) -------------------

const idWhen = (condition: Json, action = 's3:GetObject', resource: unknown = '*'): Sets => ({ identity: [doc(allow(action, resource, when(condition)))] });

const stringConditions: PolicyCase[] = [
  ...scenario('StringEquals: case-sensitive (only john, not John)', idWhen({ StringEquals: { 'aws:username': 'john' } }), [
    ['john', get(OBJ, { 'aws:username': 'john' }), 'allow'],
    ['John', get(OBJ, { 'aws:username': 'John' }), 'implicit'],
    ['key absent', get(), 'implicit'],
  ]),
  ...scenario('StringEqualsIgnoreCase: john or John', idWhen({ StringEqualsIgnoreCase: { 'aws:username': 'john' } }), [
    ['John', get(OBJ, { 'aws:username': 'John' }), 'allow'],
    ['JOHN', get(OBJ, { 'aws:username': 'JOHN' }), 'allow'],
    ['jon', get(OBJ, { 'aws:username': 'jon' }), 'implicit'],
  ]),
  ...scenario('StringNotEquals: matches any other value, and an absent key', idWhen({ StringNotEquals: { 'aws:PrincipalTag/job-category': 'iamuser-admin' } }), [
    ['another value', get(OBJ, { 'aws:PrincipalTag/job-category': 'developer' }), 'allow'],
    ['the value', get(OBJ, { 'aws:PrincipalTag/job-category': 'iamuser-admin' }), 'implicit'],
    ['key absent', get(), 'allow'],
  ]),
  ...scenario('StringNotEqualsIgnoreCase', idWhen({ StringNotEqualsIgnoreCase: { 'aws:username': ['john', 'mary'] } }), [
    ['MARY', get(OBJ, { 'aws:username': 'MARY' }), 'implicit'],
    ['alice', get(OBJ, { 'aws:username': 'alice' }), 'allow'],
  ]),
  ...scenario('StringEquals: several values are alternatives (OR)', idWhen({ StringEquals: { 'aws:PrincipalTag/department': ['finance', 'hr', 'legal'] } }), [
    ['hr', get(OBJ, { 'aws:PrincipalTag/department': 'hr' }), 'allow'],
    ['legal', get(OBJ, { 'aws:PrincipalTag/department': 'legal' }), 'allow'],
    ['it', get(OBJ, { 'aws:PrincipalTag/department': 'it' }), 'implicit'],
  ]),
  ...scenario('StringEquals: wildcards are literal characters', idWhen({ StringEquals: { 's3:prefix': 'home/*' } }), [
    ['the literal value', get(OBJ, { 's3:prefix': 'home/*' }), 'allow'],
    ['a value the wildcard would match', get(OBJ, { 's3:prefix': 'home/alice' }), 'implicit'],
  ]),
  ...scenario('StringLike: * and ? wildcards', idWhen({ StringLike: { 's3:prefix': ['home/*', 'tmp/file?.txt'] } }), [
    ['any suffix', get(OBJ, { 's3:prefix': 'home/alice/x' }), 'allow'],
    ['empty suffix', get(OBJ, { 's3:prefix': 'home/' }), 'allow'],
    ['one character', get(OBJ, { 's3:prefix': 'tmp/file1.txt' }), 'allow'],
    ['two characters', get(OBJ, { 's3:prefix': 'tmp/file12.txt' }), 'implicit'],
    ['no match', get(OBJ, { 's3:prefix': 'docs/' }), 'implicit'],
    ['key absent', get(), 'implicit'],
  ]),
  ...scenario('StringLike: case-sensitive', idWhen({ StringLike: { 'aws:username': 'a*' } }), [
    ['alice', get(OBJ, { 'aws:username': 'alice' }), 'allow'],
    ['Alice', get(OBJ, { 'aws:username': 'Alice' }), 'implicit'],
  ]),
  ...scenario('StringNotLike: no pattern may match; an absent key matches', idWhen({ StringNotLike: { 'aws:username': ['admin*', 'root'] } }), [
    ['alice', get(OBJ, { 'aws:username': 'alice' }), 'allow'],
    ['admin-bob', get(OBJ, { 'aws:username': 'admin-bob' }), 'implicit'],
    ['root', get(OBJ, { 'aws:username': 'root' }), 'implicit'],
    ['key absent', get(), 'allow'],
  ]),
  ...scenario(
    'Condition element: several keys in one operator, and several operators, must all hold (AND)',
    idWhen({ StringEquals: { 'aws:PrincipalTag/department': 'hr', 'aws:PrincipalTag/level': 'senior' }, Bool: { 'aws:SecureTransport': 'true' } }),
    [
      ['all hold', get(OBJ, { 'aws:PrincipalTag/department': 'hr', 'aws:PrincipalTag/level': 'senior', 'aws:SecureTransport': 'true' }), 'allow'],
      ['one key differs', get(OBJ, { 'aws:PrincipalTag/department': 'hr', 'aws:PrincipalTag/level': 'junior', 'aws:SecureTransport': 'true' }), 'implicit'],
      ['the other operator fails', get(OBJ, { 'aws:PrincipalTag/department': 'hr', 'aws:PrincipalTag/level': 'senior', 'aws:SecureTransport': 'false' }), 'implicit'],
      ['a key absent', get(OBJ, { 'aws:PrincipalTag/department': 'hr', 'aws:SecureTransport': 'true' }), 'implicit'],
    ],
  ),
  ...scenario('Condition element: key names are not case-sensitive', idWhen({ StringEquals: { 'AWS:SourceIP': 'x' } }), [
    ['context spelled differently', get(OBJ, { 'aws:sourceip': 'x' }), 'allow'],
  ]),
  ...scenario('Condition element: tag keys in key names keep their case (S3 tags are case-sensitive)', idWhen({ StringEquals: { 's3:ExistingObjectTag/Color': 'red' } }), [
    ['same tag key', get(OBJ, { 's3:ExistingObjectTag/Color': 'red' }), 'allow'],
    ['another tag key', get(OBJ, { 's3:ExistingObjectTag/color': 'red' }), 'implicit'],
  ]),
];

const numericConditions: PolicyCase[] = [
  ...scenario('NumericLessThanEquals: s3:max-keys at most 10', idWhen({ NumericLessThanEquals: { 's3:max-keys': '10' } }, 's3:ListBucket', BUCKET), [
    ['10', req('s3:ListBucket', BUCKET, { 's3:max-keys': '10' }), 'allow'],
    ['5', req('s3:ListBucket', BUCKET, { 's3:max-keys': '5' }), 'allow'],
    ['11', req('s3:ListBucket', BUCKET, { 's3:max-keys': '11' }), 'implicit'],
    ['absent', req('s3:ListBucket', BUCKET), 'implicit'],
    ['not a number', req('s3:ListBucket', BUCKET, { 's3:max-keys': 'ten' }), 'implicit'],
  ]),
  ...scenario('NumericLessThanEqualsIfExists: an absent key holds', idWhen({ NumericLessThanEqualsIfExists: { 's3:max-keys': '10' } }, 's3:ListBucket', BUCKET), [
    ['absent', req('s3:ListBucket', BUCKET), 'allow'],
    ['20', req('s3:ListBucket', BUCKET, { 's3:max-keys': '20' }), 'implicit'],
  ]),
  ...scenario('NumericEquals: numbers, not strings', idWhen({ NumericEquals: { 's3:max-keys': ['100', 1.5] } }), [
    ['100', get(OBJ, { 's3:max-keys': '100' }), 'allow'],
    ['100.0', get(OBJ, { 's3:max-keys': '100.0' }), 'allow'],
    ['1.50', get(OBJ, { 's3:max-keys': '1.50' }), 'allow'],
    ['99', get(OBJ, { 's3:max-keys': '99' }), 'implicit'],
  ]),
  ...scenario('NumericNotEquals: absent holds, non-numbers do not', idWhen({ NumericNotEquals: { 's3:max-keys': '100' } }), [
    ['absent', get(), 'allow'],
    ['7', get(OBJ, { 's3:max-keys': '7' }), 'allow'],
    ['100', get(OBJ, { 's3:max-keys': '100' }), 'implicit'],
    ['not a number', get(OBJ, { 's3:max-keys': 'x' }), 'implicit'],
  ]),
  ...scenario('NumericLessThan', idWhen({ NumericLessThan: { 's3:max-keys': '10' } }), [
    ['9', get(OBJ, { 's3:max-keys': '9' }), 'allow'],
    ['10', get(OBJ, { 's3:max-keys': '10' }), 'implicit'],
    ['-3', get(OBJ, { 's3:max-keys': '-3' }), 'allow'],
  ]),
  ...scenario('NumericGreaterThan', idWhen({ NumericGreaterThan: { 's3:max-keys': '10' } }), [
    ['11', get(OBJ, { 's3:max-keys': '11' }), 'allow'],
    ['10', get(OBJ, { 's3:max-keys': '10' }), 'implicit'],
  ]),
  ...scenario('NumericGreaterThanEquals', idWhen({ NumericGreaterThanEquals: { 's3:max-keys': '10' } }), [
    ['10', get(OBJ, { 's3:max-keys': '10' }), 'allow'],
    ['9.99', get(OBJ, { 's3:max-keys': '9.99' }), 'implicit'],
  ]),
];

const dateConditions: PolicyCase[] = [
  ...scenario('DateGreaterThan: aws:CurrentTime after a date', idWhen({ DateGreaterThan: { 'aws:CurrentTime': '2020-04-01T00:00:00Z' } }), [
    ['later', get(OBJ, { 'aws:CurrentTime': '2020-06-30T00:00:00Z' }), 'allow'],
    ['equal', get(OBJ, { 'aws:CurrentTime': '2020-04-01T00:00:00Z' }), 'implicit'],
    ['earlier', get(OBJ, { 'aws:CurrentTime': '2019-12-31T23:59:59Z' }), 'implicit'],
    ['absent', get(), 'implicit'],
  ]),
  ...scenario(
    'DateGreaterThan + DateLessThan: a time window',
    idWhen({ DateGreaterThan: { 'aws:CurrentTime': '2020-04-01T00:00:00Z' }, DateLessThan: { 'aws:CurrentTime': '2020-06-30T23:59:59Z' } }),
    [
      ['inside', get(OBJ, { 'aws:CurrentTime': '2020-05-15T12:00:00Z' }), 'allow'],
      ['after', get(OBJ, { 'aws:CurrentTime': '2020-07-01T00:00:00Z' }), 'implicit'],
    ],
  ),
  ...scenario('Date operators: epoch seconds (aws:EpochTime)', idWhen({ DateGreaterThanEquals: { 'aws:EpochTime': '1585699200' } }), [
    ['same instant', get(OBJ, { 'aws:EpochTime': '1585699200' }), 'allow'],
    ['a second before', get(OBJ, { 'aws:EpochTime': '1585699199' }), 'implicit'],
  ]),
  ...scenario('Date operators: epoch seconds against an ISO date', idWhen({ DateLessThan: { 'aws:CurrentTime': '1585699200' } }), [
    ['just before 2020-04-01', get(OBJ, { 'aws:CurrentTime': '2020-03-31T23:59:59Z' }), 'allow'],
    ['2020-04-01', get(OBJ, { 'aws:CurrentTime': '2020-04-01T00:00:00Z' }), 'implicit'],
  ]),
  ...scenario('Date operators: date-only values and zone offsets', idWhen({ DateEquals: { 'aws:CurrentTime': ['2020-04-01', '2021-01-01T02:00:00+02:00'] } }), [
    ['midnight UTC of the date', get(OBJ, { 'aws:CurrentTime': '2020-04-01T00:00:00Z' }), 'allow'],
    ['the same instant written in UTC', get(OBJ, { 'aws:CurrentTime': '2021-01-01T00:00:00Z' }), 'allow'],
    ['fractions of a second count', get(OBJ, { 'aws:CurrentTime': '2021-01-01T00:00:00.500Z' }), 'implicit'],
  ]),
  ...scenario('DateNotEquals: absent holds, a non-date does not', idWhen({ DateNotEquals: { 'aws:CurrentTime': '2020-04-01T00:00:00Z' } }), [
    ['absent', get(), 'allow'],
    ['other date', get(OBJ, { 'aws:CurrentTime': '2020-04-02T00:00:00Z' }), 'allow'],
    ['same date', get(OBJ, { 'aws:CurrentTime': '2020-04-01T00:00:00Z' }), 'implicit'],
    ['not a date', get(OBJ, { 'aws:CurrentTime': 'yesterday' }), 'implicit'],
  ]),
  ...scenario('DateLessThanEquals: aws:TokenIssueTime', idWhen({ DateLessThanEquals: { 'aws:TokenIssueTime': '2024-01-01T00:00:00Z' } }), [
    ['older token', get(OBJ, { 'aws:TokenIssueTime': '2023-06-01T00:00:00Z' }), 'allow'],
    ['newer token', get(OBJ, { 'aws:TokenIssueTime': '2024-06-01T00:00:00Z' }), 'implicit'],
  ]),
];

const boolBinaryConditions: PolicyCase[] = [
  ...scenario(
    'Bool: S3, deny requests not made over HTTPS (aws:SecureTransport false)',
    {
      identity: [doc(allow('s3:*', '*'))],
      resource: [doc(deny('s3:*', [BUCKET, ALL_OBJECTS], { Sid: 'AllowSSLRequestsOnly', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }))],
    },
    [
      ['HTTP', get(OBJ, { 'aws:SecureTransport': 'false' }), 'deny'],
      ['HTTPS', get(OBJ, { 'aws:SecureTransport': 'true' }), 'allow'],
      ['key absent (Bool without IfExists)', get(), 'allow'],
      ['anonymous over HTTP', get(OBJ, { 'aws:SecureTransport': 'false' }, null), 'deny'],
    ],
  ),
  ...scenario('BoolIfExists: an absent key holds', { identity: [doc(allow('s3:*', '*'), deny('s3:*', '*', when({ BoolIfExists: { 'aws:SecureTransport': false } })))] }, [
    ['absent', get(), 'deny'],
    ['true', get(OBJ, { 'aws:SecureTransport': 'true' }), 'allow'],
  ]),
  ...scenario('Bool: values compare without regard to case; JSON booleans allowed', idWhen({ Bool: { 'aws:MultiFactorAuthPresent': true } }), [
    ['"TRUE"', get(OBJ, { 'aws:MultiFactorAuthPresent': 'TRUE' }), 'allow'],
    ['"false"', get(OBJ, { 'aws:MultiFactorAuthPresent': 'false' }), 'implicit'],
    ['not a boolean', get(OBJ, { 'aws:MultiFactorAuthPresent': 'yes' }), 'implicit'],
  ]),
  ...scenario('BinaryEquals: base64 values', idWhen({ BinaryEquals: { 'key-name': 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' } }), [
    ['the value', get(OBJ, { 'key-name': 'QmluYXJ5VmFsdWVJbkJhc2U2NA==' }), 'allow'],
    ['another value', get(OBJ, { 'key-name': 'QQ==' }), 'implicit'],
    ['absent', get(), 'implicit'],
  ]),
];

const ipConditions: PolicyCase[] = [
  ...scenario(
    'NotIpAddress: S3, deny requests from outside an IPv4 range',
    {
      identity: [doc(allow('s3:*', '*'))],
      resource: [doc(deny('s3:*', [BUCKET, ALL_OBJECTS], { Sid: 'IPAllow', Principal: '*', Condition: { NotIpAddress: { 'aws:SourceIp': '192.0.2.0/24' } } }))],
    },
    [
      ['inside the range', get(OBJ, { 'aws:SourceIp': '192.0.2.10' }), 'allow'],
      ['outside', get(OBJ, { 'aws:SourceIp': '203.0.113.1' }), 'deny'],
      ['no source address (negated operator)', get(), 'deny'],
    ],
  ),
  ...scenario(
    'IpAddress + NotIpAddress: S3, allow an IPv4 range except one address, and an IPv6 range',
    {
      resource: [
        doc(
          allow('s3:*', [BUCKET, ALL_OBJECTS], {
            Principal: '*',
            Condition: { IpAddress: { 'aws:SourceIp': ['192.0.2.0/24', '2001:DB8:1234:5678::/64'] }, NotIpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:DB8:1234:5678:ABCD::/80'] } },
          }),
        ),
      ],
    },
    [
      ['IPv4 inside', get(OBJ, { 'aws:SourceIp': '192.0.2.1' }, null), 'allow'],
      ['IPv6 inside', get(OBJ, { 'aws:SourceIp': '2001:db8:1234:5678::1' }, null), 'allow'],
      ['IPv6 inside, but inside the excluded /80', get(OBJ, { 'aws:SourceIp': '2001:db8:1234:5678:abcd::99' }, null), 'implicit'],
      ['IPv6 outside', get(OBJ, { 'aws:SourceIp': '2001:db8:1234:5679::1' }, null), 'implicit'],
      ['IPv4 outside', get(OBJ, { 'aws:SourceIp': '198.51.100.1' }, null), 'implicit'],
    ],
  ),
  ...scenario('IpAddress: an address without a prefix length is that address alone', idWhen({ IpAddress: { 'aws:SourceIp': ['203.0.113.7', '2001:db8::7'] } }), [
    ['the address', get(OBJ, { 'aws:SourceIp': '203.0.113.7' }), 'allow'],
    ['a neighbour', get(OBJ, { 'aws:SourceIp': '203.0.113.8' }), 'implicit'],
    ['the IPv6 address written in full', get(OBJ, { 'aws:SourceIp': '2001:0db8:0000:0000:0000:0000:0000:0007' }), 'allow'],
  ]),
  ...scenario('IpAddress: the two address families never contain each other', idWhen({ IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }), [
    ['any IPv4 address', get(OBJ, { 'aws:SourceIp': '8.8.8.8' }), 'allow'],
    ['an IPv6 address', get(OBJ, { 'aws:SourceIp': '::1' }), 'implicit'],
  ]),
  ...scenario('NotIpAddress: an IPv6 caller is outside an IPv4 range', idWhen({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }), [
    ['IPv6', get(OBJ, { 'aws:SourceIp': '2001:db8::1' }), 'allow'],
    ['inside', get(OBJ, { 'aws:SourceIp': '10.9.8.7' }), 'implicit'],
    ['not an address', get(OBJ, { 'aws:SourceIp': 'localhost' }), 'implicit'],
  ]),
  ...scenario('IpAddress: prefix lengths', idWhen({ IpAddress: { 'aws:SourceIp': ['10.1.0.0/16', '172.16.5.4/31', '2001:db8::/32'] } }), [
    ['/16 edge', get(OBJ, { 'aws:SourceIp': '10.1.255.255' }), 'allow'],
    ['outside /16', get(OBJ, { 'aws:SourceIp': '10.2.0.0' }), 'implicit'],
    ['/31 pair', get(OBJ, { 'aws:SourceIp': '172.16.5.5' }), 'allow'],
    ['outside /31', get(OBJ, { 'aws:SourceIp': '172.16.5.6' }), 'implicit'],
    ['IPv6 compressed', get(OBJ, { 'aws:SourceIp': '2001:db8:ffff::1' }), 'allow'],
    ['IPv6 with embedded IPv4', get(OBJ, { 'aws:SourceIp': '2001:db8::192.0.2.1' }), 'allow'],
  ]),
];

const arnNullIfExistsConditions: PolicyCase[] = [
  ...scenario('ArnLike: aws:PrincipalArn with wildcards', idWhen({ ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/*` } }), [
    ['a user', get(OBJ, { 'aws:PrincipalArn': ALICE }), 'allow'],
    ['a role', get(OBJ, { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/admin` }), 'implicit'],
    ['absent', get(), 'implicit'],
  ]),
  ...scenario('ArnEquals: takes wildcards too, per ARN part', idWhen({ ArnEquals: { 'aws:SourceArn': 'arn:aws:sns:*:123456789012:*' } }), [
    ['a topic in any region', get(OBJ, { 'aws:SourceArn': 'arn:aws:sns:eu-west-1:123456789012:my-topic' }), 'allow'],
    ['another account', get(OBJ, { 'aws:SourceArn': 'arn:aws:sns:eu-west-1:210987654321:my-topic' }), 'implicit'],
    ['the region wildcard does not eat the account', get(OBJ, { 'aws:SourceArn': 'arn:aws:sns:eu:west:123456789012:t' }), 'implicit'],
  ]),
  ...scenario('ArnNotEquals: absent holds; a value that is no ARN does not', idWhen({ ArnNotEquals: { 'aws:PrincipalArn': BOB } }), [
    ['absent', get(), 'allow'],
    ['alice', get(OBJ, { 'aws:PrincipalArn': ALICE }), 'allow'],
    ['bob', get(OBJ, { 'aws:PrincipalArn': BOB }), 'implicit'],
    ['not an ARN', get(OBJ, { 'aws:PrincipalArn': 'bob' }), 'implicit'],
  ]),
  ...scenario('ArnNotLike: deny everyone but administrators', { identity: [doc(allow('s3:*', '*'), deny('s3:*', '*', when({ ArnNotLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/admin-*` } })))] }, [
    ['an admin', get(OBJ, { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/admin-zoe` }), 'allow'],
    ['alice', get(OBJ, { 'aws:PrincipalArn': ALICE }), 'deny'],
  ]),
  ...scenario('Null: "true" means the key is absent', idWhen({ Null: { 'aws:TokenIssueTime': 'true' } }), [
    ['absent (long-term credentials)', get(), 'allow'],
    ['present (temporary credentials)', get(OBJ, { 'aws:TokenIssueTime': '2024-01-01T00:00:00Z' }), 'implicit'],
  ]),
  ...scenario('Null: "false" means the key is present', idWhen({ Null: { 'aws:TokenIssueTime': 'false' } }), [
    ['present', get(OBJ, { 'aws:TokenIssueTime': '2024-01-01T00:00:00Z' }), 'allow'],
    ['absent', get(), 'implicit'],
  ]),
  ...scenario(
    'Null: S3, deny uploads without a server-side encryption header',
    {
      identity: [doc(allow('s3:*', '*'))],
      resource: [doc(deny('s3:PutObject', ALL_OBJECTS, { Principal: '*', Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } } }))],
    },
    [
      ['no header', req('s3:PutObject', OBJ), 'deny'],
      ['with the header', req('s3:PutObject', OBJ, { 's3:x-amz-server-side-encryption': 'AES256' }), 'allow'],
    ],
  ),
  ...scenario('...IfExists: StringLikeIfExists holds when the key is absent', idWhen({ StringLikeIfExists: { 'ec2:InstanceType': ['t1.*', 't2.*', 'm3.*'] } }), [
    ['absent', get(), 'allow'],
    ['matching', get(OBJ, { 'ec2:InstanceType': 't2.micro' }), 'allow'],
    ['not matching', get(OBJ, { 'ec2:InstanceType': 'r5.large' }), 'implicit'],
  ]),
  ...scenario('...IfExists: StringEqualsIfExists', idWhen({ StringEqualsIfExists: { 's3:x-amz-acl': 'bucket-owner-full-control' } }), [
    ['absent', get(), 'allow'],
    ['the value', get(OBJ, { 's3:x-amz-acl': 'bucket-owner-full-control' }), 'allow'],
    ['another value', get(OBJ, { 's3:x-amz-acl': 'public-read' }), 'implicit'],
  ]),
  ...scenario('...IfExists: IpAddressIfExists and DateLessThanIfExists', idWhen({ IpAddressIfExists: { 'aws:SourceIp': '10.0.0.0/8' }, DateLessThanIfExists: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } }), [
    ['both absent', get(), 'allow'],
    ['inside, before', get(OBJ, { 'aws:SourceIp': '10.0.0.1', 'aws:CurrentTime': '2025-01-01T00:00:00Z' }), 'allow'],
    ['outside', get(OBJ, { 'aws:SourceIp': '11.0.0.1' }), 'implicit'],
    ['too late', get(OBJ, { 'aws:CurrentTime': '2031-01-01T00:00:00Z' }), 'implicit'],
  ]),
];

// --- Multivalued keys and set operators (reference_policies_condition-single-vs-multi-valued-context-keys) --

const setOperators: PolicyCase[] = [
  ...scenario('ForAllValues:StringEquals: every request value must be allowed', idWhen({ 'ForAllValues:StringEquals': { 'aws:TagKeys': ['environment', 'cost-center'] } }), [
    ['a subset', get(OBJ, { 'aws:TagKeys': ['environment'] }), 'allow'],
    ['both', get(OBJ, { 'aws:TagKeys': ['environment', 'cost-center'] }), 'allow'],
    ['one value outside', get(OBJ, { 'aws:TagKeys': ['environment', 'owner'] }), 'implicit'],
    ['key absent: true', get(), 'allow'],
    ['empty set: true', get(OBJ, { 'aws:TagKeys': [] }), 'allow'],
  ]),
  ...scenario('ForAnyValue:StringEquals: at least one request value must match', idWhen({ 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['environment', 'webserver'] } }), [
    ['one of them among others', get(OBJ, { 'aws:TagKeys': ['owner', 'webserver'] }), 'allow'],
    ['none', get(OBJ, { 'aws:TagKeys': ['owner'] }), 'implicit'],
    ['key absent: false', get(), 'implicit'],
    ['empty set: false', get(OBJ, { 'aws:TagKeys': [] }), 'implicit'],
    ['a single-valued string counts as one value', get(OBJ, { 'aws:TagKeys': 'environment' }), 'allow'],
  ]),
  ...scenario(
    'ForAllValues:StringLike with Null: deny tag keys outside the allowed prefixes, only when tag keys are sent',
    { identity: [doc(allow('iam:*', '*'), deny(['iam:Tag*', 'iam:UnTag*'], '*', when({ Null: { 'aws:TagKeys': 'false' }, 'ForAllValues:StringLike': { 'aws:TagKeys': ['key1*', 'key2*', 'key3*'] } })))] },
    [
      ['all within the prefixes', req('iam:TagUser', BOB, { 'aws:TagKeys': ['key1-a', 'key3'] }), 'deny'],
      ['one outside', req('iam:TagUser', BOB, { 'aws:TagKeys': ['key1-a', 'other'] }), 'allow'],
      ['no tag keys sent', req('iam:TagUser', BOB), 'allow'],
    ],
  ),
  ...scenario('ForAnyValue:StringLike', idWhen({ 'ForAnyValue:StringLike': { 's3:RequestObjectTagKeys': ['confidential*'] } }), [
    ['one matches', get(OBJ, { 's3:RequestObjectTagKeys': ['public', 'confidential-x'] }), 'allow'],
    ['none matches', get(OBJ, { 's3:RequestObjectTagKeys': ['public'] }), 'implicit'],
  ]),
  ...scenario('ForAllValues:StringNotEquals: no request value may be one of the policy values', idWhen({ 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['owner', 'admin'] } }), [
    ['none of them', get(OBJ, { 'aws:TagKeys': ['env', 'team'] }), 'allow'],
    ['one of them', get(OBJ, { 'aws:TagKeys': ['env', 'owner'] }), 'implicit'],
    ['absent', get(), 'allow'],
  ]),
  ...scenario('ForAnyValue:StringNotEquals: some request value is none of the policy values', idWhen({ 'ForAnyValue:StringNotEquals': { 'aws:TagKeys': ['DataClass', 'Owner'] } }), [
    ['only policy values', get(OBJ, { 'aws:TagKeys': ['Owner'] }), 'implicit'],
    ['another value among them', get(OBJ, { 'aws:TagKeys': ['Owner', 'Team'] }), 'allow'],
    ['absent', get(), 'implicit'],
  ]),
  ...scenario('ForAnyValue:StringEqualsIgnoreCase', idWhen({ 'ForAnyValue:StringEqualsIgnoreCase': { 'aws:TagKeys': ['dataclass'] } }), [
    ['other case', get(OBJ, { 'aws:TagKeys': ['DataClass'] }), 'allow'],
  ]),
  ...scenario('Multivalued keys need a set operator: a plain operator never matches one', idWhen({ StringEquals: { 'aws:TagKeys': 'environment' } }), [
    ['one value in a list', get(OBJ, { 'aws:TagKeys': ['environment'] }), 'implicit'],
  ]),
  ...scenario('Multivalued keys need a set operator: not even a negated one', idWhen({ StringNotEquals: { 'aws:TagKeys': 'environment' } }), [
    ['a list', get(OBJ, { 'aws:TagKeys': ['owner'] }), 'implicit'],
    ['absent', get(), 'allow'],
  ]),
  ...scenario('...IfExists with a set operator: an absent key holds', idWhen({ 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': ['environment'] } }), [
    ['absent', get(), 'allow'],
    ['present without a match', get(OBJ, { 'aws:TagKeys': ['owner'] }), 'implicit'],
  ]),
];

// --- Policy variables (reference_policies_variables) ---------------------------------------------

const HOME = 'arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*';

const variables: PolicyCase[] = [
  ...scenario('Policy variables: ${aws:username} in Resource', { identity: [doc(allow(['s3:GetObject', 's3:PutObject'], HOME))] }, [
    ["alice's own folder", get('arn:aws:s3:::amzn-s3-demo-bucket/home/alice/a.txt', { 'aws:username': 'alice' }), 'allow'],
    ["bob's folder", get('arn:aws:s3:::amzn-s3-demo-bucket/home/bob/a.txt', { 'aws:username': 'alice' }), 'implicit'],
    ['bob in his folder', get('arn:aws:s3:::amzn-s3-demo-bucket/home/bob/a.txt', { 'aws:username': 'bob' }, BOB), 'allow'],
    ['no user name (a role session): matches no resource', get('arn:aws:s3:::amzn-s3-demo-bucket/home/alice/a.txt'), 'implicit'],
  ]),
  ...scenario(
    'Policy variables: a value with wildcard characters is literal',
    { identity: [doc(allow('s3:GetObject', HOME))] },
    [
      ['user "a*" in folder a*', get('arn:aws:s3:::amzn-s3-demo-bucket/home/a*/x', { 'aws:username': 'a*' }), 'allow'],
      ['user "a*" in folder ab', get('arn:aws:s3:::amzn-s3-demo-bucket/home/ab/x', { 'aws:username': 'a*' }), 'implicit'],
    ],
  ),
  ...scenario('Policy variables: a multivalued key cannot be a variable', { identity: [doc(allow('s3:GetObject', 'arn:aws:s3:::amzn-s3-demo-bucket/${aws:TagKeys}/*'))] }, [
    ['list value', get('arn:aws:s3:::amzn-s3-demo-bucket/a/x', { 'aws:TagKeys': ['a'] }), 'implicit'],
  ]),
  ...scenario(
    'Policy variables: S3 per-user home folders (ListBucket on s3:prefix, objects under home/${aws:username}/)',
    {
      identity: [
        doc(
          allow('s3:ListBucket', BUCKET, { Sid: 'AllowRootAndHomeListing', Condition: { StringEquals: { 's3:prefix': ['', 'home/'], 's3:delimiter': ['/'] } } }),
          allow('s3:ListBucket', BUCKET, { Sid: 'AllowListingOfUserFolder', Condition: { StringLike: { 's3:prefix': ['home/${aws:username}/*'] } } }),
          allow('s3:*', HOME, { Sid: 'AllowAllS3ActionsInUserFolder' }),
        ),
      ],
    },
    [
      ['list the root', req('s3:ListBucket', BUCKET, { 's3:prefix': '', 's3:delimiter': '/', 'aws:username': 'alice' }), 'allow'],
      ['list home/', req('s3:ListBucket', BUCKET, { 's3:prefix': 'home/', 's3:delimiter': '/', 'aws:username': 'alice' }), 'allow'],
      ['list home/ without a delimiter', req('s3:ListBucket', BUCKET, { 's3:prefix': 'home/', 'aws:username': 'alice' }), 'implicit'],
      ['list her own folder', req('s3:ListBucket', BUCKET, { 's3:prefix': 'home/alice/photos/', 'aws:username': 'alice' }), 'allow'],
      ["list bob's folder", req('s3:ListBucket', BUCKET, { 's3:prefix': 'home/bob/', 'aws:username': 'alice' }), 'implicit'],
      ['write in her folder', req('s3:PutObject', 'arn:aws:s3:::amzn-s3-demo-bucket/home/alice/n.txt', { 'aws:username': 'alice' }), 'allow'],
      ["delete in bob's", req('s3:DeleteObject', 'arn:aws:s3:::amzn-s3-demo-bucket/home/bob/n.txt', { 'aws:username': 'alice' }), 'implicit'],
    ],
  ),
  ...scenario(
    'Policy variables: tag against tag (StringEquals s3:ExistingObjectTag/owner = ${aws:PrincipalTag/owner})',
    idWhen({ StringEquals: { 's3:ExistingObjectTag/owner': '${aws:PrincipalTag/owner}' } }),
    [
      ['same owner', get(OBJ, { 's3:ExistingObjectTag/owner': 'alice', 'aws:PrincipalTag/owner': 'alice' }), 'allow'],
      ['other owner', get(OBJ, { 's3:ExistingObjectTag/owner': 'bob', 'aws:PrincipalTag/owner': 'alice' }), 'implicit'],
      ['principal untagged: nothing equals a null value', get(OBJ, { 's3:ExistingObjectTag/owner': 'alice' }), 'implicit'],
    ],
  ),
  ...scenario(
    'Policy variables with no value: inverted operators match (deny unless object team = principal team)',
    { identity: [doc(allow('s3:*', '*'), deny('s3:GetObject', ALL_OBJECTS, when({ StringNotEquals: { 's3:ExistingObjectTag/Team': '${aws:PrincipalTag/Team}' } })))] },
    [
      ['same team', get(OBJ, { 's3:ExistingObjectTag/Team': 'blue', 'aws:PrincipalTag/Team': 'blue' }), 'allow'],
      ['other team', get(OBJ, { 's3:ExistingObjectTag/Team': 'red', 'aws:PrincipalTag/Team': 'blue' }), 'deny'],
      ['principal tag not set: denied', get(OBJ, { 's3:ExistingObjectTag/Team': 'blue' }), 'deny'],
    ],
  ),
  ...scenario(
    'Policy variables with no value: a NotResource entry holding one matches no resource',
    { identity: [doc(allow('s3:*', '*'), { Effect: 'Deny', Action: 's3:*', NotResource: HOME })] },
    [
      ['own folder', get('arn:aws:s3:::amzn-s3-demo-bucket/home/alice/a', { 'aws:username': 'alice' }), 'allow'],
      ['elsewhere', get('arn:aws:s3:::amzn-s3-demo-bucket/shared/a', { 'aws:username': 'alice' }), 'deny'],
      ['no user name: everything is outside', get('arn:aws:s3:::amzn-s3-demo-bucket/home/alice/a'), 'deny'],
    ],
  ),
  ...scenario(
    "Policy variables: default values (${aws:PrincipalTag/team, 'company-wide'})",
    { identity: [doc(allow('s3:GetObject', "arn:aws:s3:::amzn-s3-demo-bucket-${aws:PrincipalTag/team, 'company-wide'}/*"))] },
    [
      ['team yellow', get('arn:aws:s3:::amzn-s3-demo-bucket-yellow/k', { 'aws:PrincipalTag/team': 'yellow' }), 'allow'],
      ['team yellow, company-wide bucket', get('arn:aws:s3:::amzn-s3-demo-bucket-company-wide/k', { 'aws:PrincipalTag/team': 'yellow' }), 'implicit'],
      ['untagged, company-wide bucket', get('arn:aws:s3:::amzn-s3-demo-bucket-company-wide/k'), 'allow'],
      ['untagged, yellow bucket', get('arn:aws:s3:::amzn-s3-demo-bucket-yellow/k'), 'implicit'],
    ],
  ),
  ...scenario('Policy variables: ${aws:userid}', { identity: [doc(allow('s3:*', 'arn:aws:s3:::amzn-s3-demo-bucket/${aws:userid}/*'))] }, [
    ['own unique id', get('arn:aws:s3:::amzn-s3-demo-bucket/AIDAJQABLZS4A3QDU576Q/k', { 'aws:userid': 'AIDAJQABLZS4A3QDU576Q' }), 'allow'],
    ['another id', get('arn:aws:s3:::amzn-s3-demo-bucket/AIDAOTHER/k', { 'aws:userid': 'AIDAJQABLZS4A3QDU576Q' }), 'implicit'],
  ]),
  ...scenario(
    'Policy variables: special characters ${*}, ${?}, ${$}',
    { identity: [doc(allow('s3:GetObject', ['arn:aws:s3:::amzn-s3-demo-bucket/${*}star', 'arn:aws:s3:::amzn-s3-demo-bucket/why${?}', 'arn:aws:s3:::amzn-s3-demo-bucket/${$}{x}']))] },
    [
      ['a literal *', get('arn:aws:s3:::amzn-s3-demo-bucket/*star'), 'allow'],
      ['* is not a wildcard here', get('arn:aws:s3:::amzn-s3-demo-bucket/lodestar'), 'implicit'],
      ['a literal ?', get('arn:aws:s3:::amzn-s3-demo-bucket/why?'), 'allow'],
      ['? is not a wildcard here', get('arn:aws:s3:::amzn-s3-demo-bucket/whyz'), 'implicit'],
      ['a literal ${', get('arn:aws:s3:::amzn-s3-demo-bucket/${x}'), 'allow'],
    ],
  ),
  ...scenario(
    'Policy variables: in conditions (StringLike s3:prefix home/${aws:username}/*)',
    idWhen({ StringLike: { 's3:prefix': 'home/${aws:username}/*' } }, 's3:ListBucket', BUCKET),
    [
      ['own prefix', req('s3:ListBucket', BUCKET, { 's3:prefix': 'home/alice/x', 'aws:username': 'alice' }), 'allow'],
      ['user name with a wildcard is literal', req('s3:ListBucket', BUCKET, { 's3:prefix': 'home/bob/x', 'aws:username': '*' }), 'implicit'],
      ['no user name', req('s3:ListBucket', BUCKET, { 's3:prefix': 'home/alice/x' }), 'implicit'],
    ],
  ),
  ...scenario('Policy variables: in ARN conditions', idWhen({ ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::${aws:PrincipalAccount}:user/${aws:username}' } }), [
    ['matching', get(OBJ, { 'aws:PrincipalArn': ALICE, 'aws:PrincipalAccount': ACCOUNT, 'aws:username': 'alice' }), 'allow'],
    ['another account', get(OBJ, { 'aws:PrincipalArn': ALICE, 'aws:PrincipalAccount': '444455556666', 'aws:username': 'alice' }), 'implicit'],
  ]),
  ...scenario('Policy variables: StringEqualsIgnoreCase with a variable', idWhen({ StringEqualsIgnoreCase: { 's3:prefix': '${aws:username}' } }), [
    ['other case', get(OBJ, { 's3:prefix': 'ALICE', 'aws:username': 'alice' }), 'allow'],
  ]),
  ...scenario('Policy variables: Version 2008-10-17 treats ${...} literally', { identity: [{ Version: '2008-10-17', Statement: [allow('s3:GetObject', HOME)] }] }, [
    ['own folder', get('arn:aws:s3:::amzn-s3-demo-bucket/home/alice/a', { 'aws:username': 'alice' }), 'implicit'],
    ['the literal folder name', get('arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/a', { 'aws:username': 'alice' }), 'allow'],
  ]),
  ...scenario('Policy variables: without a Version element, ${...} is literal', { identity: [{ Statement: [allow('s3:GetObject', HOME)] }] }, [
    ['own folder', get('arn:aws:s3:::amzn-s3-demo-bucket/home/alice/a', { 'aws:username': 'alice' }), 'implicit'],
  ]),
];

// --- Amazon S3 bucket policy examples (example-bucket-policies) ---------------------------------

const s3Examples: PolicyCase[] = [
  ...scenario(
    'S3 bucket policy: managing access based on tags (s3:ExistingObjectTag/environment)',
    { resource: [doc(allow('s3:GetObject', ALL_OBJECTS, { Principal: { AWS: ALICE }, Condition: { StringEquals: { 's3:ExistingObjectTag/environment': 'production' } } }))] },
    [
      ['tagged production', get(OBJ, { 's3:ExistingObjectTag/environment': 'production' }), 'allow'],
      ['tagged test', get(OBJ, { 's3:ExistingObjectTag/environment': 'test' }), 'implicit'],
      ['untagged', get(), 'implicit'],
    ],
  ),
  ...scenario(
    'S3 bucket policy: restrict the tag keys an upload may set (ForAllValues s3:RequestObjectTagKeys)',
    { resource: [doc(allow('s3:PutObject', ALL_OBJECTS, { Principal: { AWS: ALICE }, Condition: { 'ForAllValues:StringLike': { 's3:RequestObjectTagKeys': ['Owner', 'CreationDate'] } } }))] },
    [
      ['allowed keys', req('s3:PutObject', OBJ, { 's3:RequestObjectTagKeys': ['Owner'] }), 'allow'],
      ['another key', req('s3:PutObject', OBJ, { 's3:RequestObjectTagKeys': ['Owner', 'Project'] }), 'implicit'],
      ['no tags', req('s3:PutObject', OBJ), 'allow'],
    ],
  ),
  ...scenario(
    'S3 bucket policy: require bucket-owner-full-control on uploads (s3:x-amz-acl)',
    { resource: [doc(allow('s3:PutObject', ALL_OBJECTS, { Principal: { AWS: BOB }, Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } } }))] },
    [
      ['with the ACL', req('s3:PutObject', OBJ, { 's3:x-amz-acl': 'bucket-owner-full-control' }, BOB), 'allow'],
      ['without', req('s3:PutObject', OBJ, {}, BOB), 'implicit'],
    ],
  ),
  ...scenario(
    'S3 bucket policy: restrict access to an HTTP referer (aws:Referer StringLike)',
    { resource: [doc(allow('s3:GetObject', ALL_OBJECTS, { Principal: '*', Condition: { StringLike: { 'aws:Referer': ['https://www.example.com/*', 'https://example.com/*'] } } }))] },
    [
      ['from the site', get(OBJ, { 'aws:Referer': 'https://www.example.com/page' }, null), 'allow'],
      ['from elsewhere', get(OBJ, { 'aws:Referer': 'https://evil.example.net/' }, null), 'implicit'],
      ['no referer', get(OBJ, {}, null), 'implicit'],
    ],
  ),
  ...scenario(
    'S3 bucket policy: only from a VPC endpoint (Deny StringNotEquals aws:SourceVpce)',
    { identity: [doc(allow('s3:*', '*'))], resource: [doc(deny('s3:*', [BUCKET, ALL_OBJECTS], { Principal: '*', Condition: { StringNotEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } } }))] },
    [
      ['through the endpoint', get(OBJ, { 'aws:SourceVpce': 'vpce-1a2b3c4d' }), 'allow'],
      ['another endpoint', get(OBJ, { 'aws:SourceVpce': 'vpce-9999' }), 'deny'],
      ['not through an endpoint', get(), 'deny'],
    ],
  ),
  ...scenario(
    'S3 bucket policy: deny everyone but one user with aws:PrincipalArn (instead of NotPrincipal)',
    { identity: [doc(allow('s3:*', '*'))], resource: [doc(deny('s3:*', [BUCKET, ALL_OBJECTS], { Principal: '*', Condition: { ArnNotEquals: { 'aws:PrincipalArn': ALICE } } }))] },
    [
      ['alice', get(OBJ, { 'aws:PrincipalArn': ALICE }), 'allow'],
      ['bob', get(OBJ, { 'aws:PrincipalArn': BOB }, BOB), 'deny'],
    ],
  ),
  ...scenario(
    'S3 bucket policy: grant a user a folder and its listing',
    {
      resource: [
        doc(
          allow('s3:ListBucket', BUCKET, { Principal: { AWS: BOB }, Condition: { StringLike: { 's3:prefix': 'projects/*' } } }),
          allow(['s3:GetObject', 's3:PutObject'], 'arn:aws:s3:::amzn-s3-demo-bucket/projects/*', { Principal: { AWS: BOB } }),
        ),
      ],
    },
    [
      ['list the folder', req('s3:ListBucket', BUCKET, { 's3:prefix': 'projects/x/' }, BOB), 'allow'],
      ['list the root', req('s3:ListBucket', BUCKET, { 's3:prefix': '' }, BOB), 'implicit'],
      ['read in the folder', get('arn:aws:s3:::amzn-s3-demo-bucket/projects/p1/a', {}, BOB), 'allow'],
      ['delete in the folder', req('s3:DeleteObject', 'arn:aws:s3:::amzn-s3-demo-bucket/projects/p1/a', {}, BOB), 'implicit'],
      ['alice is not granted', get('arn:aws:s3:::amzn-s3-demo-bucket/projects/p1/a'), 'implicit'],
    ],
  ),
];

export const POLICY_CASES: readonly PolicyCase[] = [
  ...evaluationLogic,
  ...actions,
  ...resources,
  ...principals,
  ...stringConditions,
  ...numericConditions,
  ...dateConditions,
  ...boolBinaryConditions,
  ...ipConditions,
  ...arnNullIfExistsConditions,
  ...setOperators,
  ...variables,
  ...s3Examples,
];
