// Condition context keys. AWS compares key names case-insensitively (aws:SourceIp = AWS:SOURCEIP),
// but the part after the first '/' of a tag key (aws:ResourceTag/Dept, s3:ExistingObjectTag/Color)
// is a tag key, and S3 tag keys are case-sensitive ("Color" and "color" are two tags of one
// object). So a key's name is lowercased up to its first '/' and kept as written after it; callers
// build request contexts with the same normalization.

export type ContextValue = string | readonly string[] | undefined;
export type RequestContext = Readonly<Record<string, ContextValue>>;

export function normalizeContextKey(name: string): string {
  const slash = name.indexOf('/');
  return slash < 0 ? name.toLowerCase() : name.slice(0, slash).toLowerCase() + name.slice(slash);
}

/** The key's value; anything that is not a string or an array (an inherited Object member, say) counts as absent. */
export function contextValue(ctx: RequestContext, key: string): string | readonly string[] | undefined {
  const v = ctx[key];
  return typeof v === 'string' || Array.isArray(v) ? v : undefined;
}

/** The key's value if it is single-valued; a multivalued key cannot stand in for a policy variable. */
export function singleContextValue(ctx: RequestContext, key: string): string | undefined {
  const v = ctx[key];
  return typeof v === 'string' ? v : undefined;
}
