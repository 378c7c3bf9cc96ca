// The XML S3 speaks: documents written by a small builder, and the few request bodies S3 accepts
// (CompleteMultipartUpload, Delete, CreateBucketConfiguration, Tagging) read by a strict parser —
// anything not well-formed is MalformedXML before any change is made.
import { S3Error } from './errors.js';

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text safe inside an element or attribute; characters XML 1.0 cannot carry become references
 * S3 clients decode (keys may hold control characters). */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']|[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => ESCAPES[c] ?? `&#x${c.charCodeAt(0).toString(16)};`);
}

/** A node of a document being built: an element with children, or text. */
export type XmlChild = XmlElement | string | number | boolean | null | undefined;
export interface XmlElement { name: string; attrs?: Record<string, string>; children: XmlChild[] }

/** `el('Key', 'a/b')`; null/undefined children are left out, so optional fields read naturally. */
export function el(name: string, ...children: (XmlChild | XmlChild[])[]): XmlElement {
  return { name, children: children.flat() };
}

function render(node: XmlChild, out: string[]): void {
  if (node === null || node === undefined) return;
  if (typeof node !== 'object') {
    out.push(escapeXml(String(node)));
    return;
  }
  out.push('<', node.name);
  for (const [k, v] of Object.entries(node.attrs ?? {})) out.push(' ', k, '="', escapeXml(v), '"');
  if (node.children.length === 0) {
    out.push('/>');
    return;
  }
  out.push('>');
  for (const c of node.children) render(c, out);
  out.push('</', node.name, '>');
}

/** A whole document with the S3 namespace on its root. */
export function xmlDocument(root: XmlElement, namespace = true): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  render(namespace ? { ...root, attrs: { xmlns: S3_NS, ...root.attrs } } : root, out);
  return out.join('');
}

// ---- parsing ----

/** A parsed element: local name (namespace prefix dropped), child elements, and its own text. */
export interface XmlNode {
  name: string;
  children: XmlNode[];
  text: string;
}

function malformed(why: string): never {
  throw new S3Error('MalformedXML', `The XML you provided was not well-formed: ${why}.`);
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;

const BARE_AMP = /&(?!(?:lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});)/;

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  if (BARE_AMP.test(s)) malformed('a bare "&" or an unknown entity');
  return s.replace(/&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g, (_whole, ref: string) => {
    switch (ref) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
      default: {
        const code = ref.startsWith('#x') ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
        if (code > 0x10ffff) malformed(`a character reference &${ref}; out of range`);
        return String.fromCodePoint(code);
      }
    }
  });
}

/** Parse a document into its root element. Attributes are checked for form and dropped (S3
 * request bodies carry meaning only in elements); DTDs are refused outright. */
export function parseXml(text: string): XmlNode {
  let i = 0;
  const n = text.length;
  const skipSpace = () => { while (i < n && /\s/.test(text[i])) i++; };
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (text.startsWith('<?', i)) {
        const end = text.indexOf('?>', i + 2);
        if (end < 0) malformed('an unterminated processing instruction');
        i = end + 2;
      } else if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i + 4);
        if (end < 0) malformed('an unterminated comment');
        i = end + 3;
      } else if (text.startsWith('<!', i)) {
        malformed('a document type declaration (not accepted)');
      } else {
        return;
      }
    }
  };
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  skipMisc();
  if (text[i] !== '<') malformed(i >= n ? 'an empty document' : 'text before the root element');
  const stack: XmlNode[] = [];
  let root: XmlNode | null = null;
  while (i < n) {
    if (text[i] === '<') {
      if (text.startsWith('<!--', i)) {
        const end = text.indexOf('-->', i + 4);
        if (end < 0) malformed('an unterminated comment');
        i = end + 3;
        continue;
      }
      if (text.startsWith('<![CDATA[', i)) {
        const end = text.indexOf(']]>', i + 9);
        if (end < 0 || stack.length === 0) malformed('a misplaced CDATA section');
        stack[stack.length - 1].text += text.slice(i + 9, end);
        i = end + 3;
        continue;
      }
      if (text.startsWith('<?', i)) {
        const end = text.indexOf('?>', i + 2);
        if (end < 0) malformed('an unterminated processing instruction');
        i = end + 2;
        continue;
      }
      if (text[i + 1] === '/') {
        i += 2;
        const m = NAME.exec(text.slice(i, i + 256));
        if (!m) malformed('a closing tag without a name');
        i += m[0].length;
        skipSpace();
        if (text[i] !== '>') malformed(`an unterminated closing tag </${m[0]}`);
        i++;
        const open = stack.pop();
        if (!open) malformed(`a closing tag </${m[0]}> with nothing open`);
        if (localName(m[0]) !== open.name) malformed(`</${m[0]}> closing <${open.name}>`);
        if (stack.length === 0) {
          root = open;
          break;
        }
        continue;
      }
      i++;
      const m = NAME.exec(text.slice(i, i + 256));
      if (!m) malformed('a tag without a name');
      i += m[0].length;
      const node: XmlNode = { name: localName(m[0]), children: [], text: '' };
      // Attributes: name="value" or name='value'.
      for (;;) {
        skipSpace();
        if (text[i] === '>' || text.startsWith('/>', i)) break;
        const a = NAME.exec(text.slice(i, i + 256));
        if (!a) malformed(`a bad attribute in <${m[0]}>`);
        i += a[0].length;
        skipSpace();
        if (text[i] !== '=') malformed(`attribute ${a[0]} without a value`);
        i++;
        skipSpace();
        const q = text[i];
        if (q !== '"' && q !== "'") malformed(`attribute ${a[0]} without quotes`);
        const end = text.indexOf(q, i + 1);
        if (end < 0) malformed(`an unterminated attribute ${a[0]}`);
        if (text.slice(i + 1, end).includes('<')) malformed(`"<" inside attribute ${a[0]}`);
        i = end + 1;
      }
      if (stack.length > 0) stack[stack.length - 1].children.push(node);
      if (text.startsWith('/>', i)) {
        i += 2;
        if (stack.length === 0) {
          root = node;
          break;
        }
        continue;
      }
      i++;
      stack.push(node);
      if (stack.length > 64) malformed('elements nested too deeply');
      continue;
    }
    const next = text.indexOf('<', i);
    const end = next < 0 ? n : next;
    if (stack.length === 0) malformed('text outside the root element');
    stack[stack.length - 1].text += decodeEntities(text.slice(i, end));
    i = end;
  }
  if (!root || stack.length > 0) malformed('the document ends inside an element');
  skipMisc();
  if (i < n) malformed('content after the root element');
  return root;
}

function localName(qname: string): string {
  const colon = qname.indexOf(':');
  return colon < 0 ? qname : qname.slice(colon + 1);
}

/** The children of `node` called `name`. */
export function childrenNamed(node: XmlNode, name: string): XmlNode[] {
  return node.children.filter((c) => c.name === name);
}

/** The text of the only child called `name` (undefined when absent; a repeat is MalformedXML). */
export function childText(node: XmlNode, name: string): string | undefined {
  const found = childrenNamed(node, name);
  if (found.length > 1) malformed(`<${name}> appears more than once in <${node.name}>`);
  return found[0]?.text;
}

/** Parse a request body whose root must be `rootName`. */
export function parseBody(body: Buffer, rootName: string): XmlNode {
  const text = body.toString('utf8');
  if (text.includes('\ufffd') && !Buffer.from(text, 'utf8').equals(body)) malformed('the body is not UTF-8');
  const root = parseXml(text);
  if (root.name !== rootName) malformed(`the root element is <${root.name}>, expected <${rootName}>`);
  return root;
}
