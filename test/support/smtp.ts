// A real SMTP server (smtp-server) on 127.0.0.1 for the tests: it accepts every message,
// decodes the MIME parts nodemailer produces and keeps them for the test to read.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  raw: string;
}

export interface TestSmtpServer {
  port: number;
  /** the value for GATEHOUSE_SMTP_URL */
  url: string;
  messages: ReceivedMail[];
  /** the messages sent to this address (compared case-insensitively) */
  to(address: string): ReceivedMail[];
  /** while true, connections are accepted and never greeted (a frozen mail server) */
  silent: boolean;
  close(): Promise<void>;
}

interface MimeEntity {
  headers: Map<string, string>;
  body: string;
}

function splitEntity(raw: string): MimeEntity {
  const boundary = raw.search(/\r?\n\r?\n/);
  const head = boundary === -1 ? raw : raw.slice(0, boundary);
  const body = boundary === -1 ? '' : raw.slice(boundary).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function decodeQuotedPrintable(body: string): string {
  const bytes: number[] = [];
  const text = body.replace(/=\r?\n/g, '');
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeBody(entity: MimeEntity): string {
  const encoding = (entity.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(entity.body);
  if (encoding === 'base64') return Buffer.from(entity.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return entity.body;
}

/** RFC 2047 encoded words, as nodemailer writes them for non-ASCII subjects. */
function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?[^?]+\?([BbQq])\?([^?]*)\?=/g, (_match, kind: string, data: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : decodeQuotedPrintable(data.replace(/_/g, ' ')),
    );
}

function collectParts(entity: MimeEntity, into: { text: string; html: string }): void {
  const type = entity.headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    const sections = entity.body.split(`--${boundary}`).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break;
      collectParts(splitEntity(section.replace(/^\r?\n/, '')), into);
    }
    return;
  }
  if (/^text\/html/i.test(type)) into.html += decodeBody(entity);
  else if (/^text\/plain/i.test(type)) into.text += decodeBody(entity);
}

export function parseMail(raw: string, from: string, to: string[]): ReceivedMail {
  const entity = splitEntity(raw);
  const parts = { text: '', html: '' };
  collectParts(entity, parts);
  return { from, to, subject: decodeHeader(entity.headers.get('subject') ?? ''), text: parts.text, html: parts.html, raw };
}

/** The magic-link token in a message's text part. */
export function magicLinkToken(mail: ReceivedMail): string {
  const match = /\/magic-link\/verify\?token=([A-Za-z0-9_%-]+)/.exec(mail.text);
  if (!match?.[1]) throw new Error(`no magic link in the message:\n${mail.text}`);
  return decodeURIComponent(match[1]);
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  const messages: ReceivedMail[] = [];
  const held: Array<(err?: Error) => void> = [];
  const control = { silent: false };
  const server = new SMTPServer({
    onConnect(_session, callback) {
      if (control.silent) held.push(callback);
      else callback();
    },
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const to = session.envelope.rcptTo.map((r) => r.address);
        // Stored before the server answers 250, so the message is here once sendMail resolves.
        messages.push(parseMail(Buffer.concat(chunks).toString('utf8'), from, to));
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    to: (address) => messages.filter((m) => m.to.some((t) => t.toLowerCase() === address.toLowerCase())),
    get silent() {
      return control.silent;
    },
    set silent(value: boolean) {
      control.silent = value;
    },
    close: () => {
      for (const callback of held.splice(0)) callback(new Error('closing'));
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
