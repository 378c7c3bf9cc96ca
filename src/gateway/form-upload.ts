// Reading a browser form upload (a multipart/form-data body, parsed by busboy): the fields before
// the file, held in memory within bounds; the file itself, streamed with backpressure so that a
// 5 GiB upload never sits in memory; whatever follows the file, read and dropped, as S3 ignores
// it. The body's own failures (a client gone, a body slower than allowed, a malformed form)
// surface from whatever is read at the time: the fields, the file, or end().
import busboy from 'busboy';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { S3Error } from './errors.js';

export interface FormLimits {
  /** Bytes of the names and values of the fields before the file, together. */
  fieldBytes: number;
  /** Number of fields before the file. */
  fields: number;
}

export interface FormFile {
  /** The name of the form field that carried it, as sent. */
  field: string;
  /** The file's name as the browser gave it (without directories); '' when none was given. */
  filename: string;
  /** The bytes, in order; iteration fails as the body fails. */
  data: AsyncIterable<Buffer>;
}

export interface Form {
  /** The fields before the file, names lowercased (S3 reads them case-insensitively). */
  fields: ReadonlyMap<string, string>;
  /** The first file of the form, or null when the form ended without one. */
  file: FormFile | null;
  /** Resolves once the rest of the body was read and the form found complete (call it after the
   * file was read: the body waits for its reader). */
  end(): Promise<void>;
  /** Stop reading (the request is answered with an error before its body was read). */
  abandon(): void;
}

function malformed(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  const why = err instanceof Error ? err.message : String(err);
  return new S3Error('MalformedPOSTRequest', `The body of your POST request is not well-formed multipart/form-data (${why}).`);
}

function tooMuchPreData(why: string): S3Error {
  return new S3Error('MaxPostPreDataLengthExceeded', `Your POST request fields preceding the upload file were too large: ${why}. Put the file last and keep the other fields small.`);
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** A text field named "file" (a form may send text content instead of a file) as a file. */
function textFile(field: string, value: string): FormFile {
  const bytes = Buffer.from(value, 'utf8');
  return { field, filename: '', data: (async function* () { yield bytes; })() };
}

/**
 * Read `source` (the request's body) as a form up to its file. Resolves with the fields and the
 * file once the file begins (or the form ended without one); the file's bytes and the rest of the
 * body are read as they are consumed.
 */
export async function readForm(source: AsyncIterable<Buffer>, headers: IncomingHttpHeaders, limits: FormLimits): Promise<Form> {
  let parser: busboy.Busboy;
  try {
    // File names come in UTF-8 from browsers (busboy's default, latin1, would garble them). A text
    // "file" field may be as large as the fields before it together.
    parser = busboy({ headers, defParamCharset: 'utf8', limits: { fieldSize: limits.fieldBytes + 1 } });
  } catch (err) {
    throw malformed(err);
  }
  const fields = new Map<string, string>();
  const head = deferred<FormFile | null>();
  // Rejected on the first failure: a write waiting for the file's reader waits no longer.
  const stopped = deferred<never>();
  let file: FormFile | null = null;
  let failure: unknown = null;
  let bytes = 0;

  const fail = (err: unknown) => {
    if (failure !== null) return;
    failure = err;
    head.reject(err);
    stopped.reject(err);
    // Takes the file stream with it: its reader sees `err`.
    parser.destroy(err instanceof Error ? err : new Error(String(err)));
  };

  // Parts before the file that came with a filename (some clients send every field so) are
  // fields all the same: read whole, within the fields' bound, before the file is handed on.
  const pending: Promise<void>[] = [];
  let fileSeen = false;

  const addField = (name: string, value: string, truncated: boolean) => {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
    if (truncated || bytes > limits.fieldBytes) {
      fail(tooMuchPreData(`they hold more than ${limits.fieldBytes} bytes`));
      return;
    }
    if (fields.size >= limits.fields) {
      fail(tooMuchPreData(`there are more than ${limits.fields} of them`));
      return;
    }
    const key = name.toLowerCase();
    // Which of two values the policy would check and which the object would get is not to be
    // guessed.
    if (fields.has(key)) {
      fail(new S3Error('InvalidArgument', `The form field "${name.slice(0, 100)}" appears more than once; send each field once.`, { ArgumentName: name.slice(0, 100) }));
      return;
    }
    fields.set(key, value);
  };

  parser.on('field', (name, value, info) => {
    if (fileSeen || failure !== null) return;
    if (name.toLowerCase() === 'file') {
      if (info.valueTruncated) {
        fail(new S3Error('EntityTooLarge', `The text field "file" holds more than ${limits.fieldBytes} bytes; send larger content as a file (a part with a filename).`));
        return;
      }
      fileSeen = true;
      const f = textFile(name, value);
      void Promise.all(pending).then(() => { file = f; head.resolve(f); }, () => undefined);
      return;
    }
    addField(name, value, info.valueTruncated);
  });

  parser.on('file', (name, stream: Readable, info) => {
    // A stream destroyed by a failure while nobody reads it must not throw from its 'error'.
    stream.on('error', () => undefined);
    if (fileSeen || failure !== null) {
      stream.resume();
      return;
    }
    if (name.toLowerCase() !== 'file') {
      const parts: Buffer[] = [];
      let size = 0;
      pending.push(new Promise<void>((resolve) => {
        stream.on('data', (c: Buffer) => {
          size += c.length;
          if (size + bytes > limits.fieldBytes) fail(tooMuchPreData(`they hold more than ${limits.fieldBytes} bytes`));
          else parts.push(c);
        });
        stream.on('end', () => {
          if (failure === null) addField(name, Buffer.concat(parts).toString('utf8'), size > limits.fieldBytes);
          resolve();
        });
        stream.on('error', () => resolve());
      }));
      return;
    }
    fileSeen = true;
    const f: FormFile = { field: name, filename: info.filename ?? '', data: bytesOf(stream) };
    void Promise.all(pending).then(() => { file = f; head.resolve(f); }, () => undefined);
  });

  parser.on('error', (err) => fail(malformed(err)));

  // The parser's own errors reach the file stream before its 'error' event: they are told as
  // S3 errors all the same.
  async function* bytesOf(stream: Readable): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (err) {
      throw failure ?? malformed(err);
    }
  }

  const write = (chunk: Buffer) => Promise.race([
    new Promise<void>((resolve, reject) => { parser.write(chunk, (err) => (err ? reject(malformed(err)) : resolve())); }),
    stopped.promise,
  ]);
  const finish = () => Promise.race([
    new Promise<void>((resolve, reject) => {
      parser.once('close', () => (failure === null ? resolve() : reject(failure)));
      parser.end();
    }),
    stopped.promise,
  ]);

  const pumped = (async () => {
    try {
      for await (const chunk of source) {
        if (failure !== null) break;
        await write(chunk);
      }
      if (failure === null) await finish();
    } catch (err) {
      fail(err);
    }
    await Promise.all(pending);
    head.resolve(null);
  })();

  const first = await head.promise;
  return {
    fields,
    file: first,
    async end() {
      await pumped;
      if (failure !== null) throw failure;
    },
    abandon() {
      fail(new S3Error('InternalError', 'The form upload was abandoned.'));
    },
  };
}
