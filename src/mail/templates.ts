// The messages Gatehouse sends. Every value placed in HTML is escaped.
import type { MailMessage } from './mailer.ts';
import { escapeHtml } from '../http/html.ts';

interface MagicLinkMail {
  to: string;
  projectName: string;
  link: string;
  expiresInSeconds: number;
}

const NOT_YOU = 'If you did not ask for it, you can ignore this message.';

/** A lifetime in words: "15 minutes", "1 hour", "90 seconds". */
export function describeLifetime(seconds: number): string {
  if (seconds % 3600 === 0) return seconds === 3600 ? '1 hour' : `${seconds / 3600} hours`;
  if (seconds % 60 === 0) return seconds === 60 ? '1 minute' : `${seconds / 60} minutes`;
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}

/** The same message whether or not the address has an account, so a mail reveals nothing either. */
export function magicLinkMessage(input: MagicLinkMail): MailMessage {
  // A project name is one line of plain text in a header and in the body.
  const mail = { ...input, projectName: input.projectName.replace(/\p{Cc}+/gu, ' ').trim() };
  const expires = describeLifetime(mail.expiresInSeconds);
  const text = plainText([`Someone asked to sign in to ${mail.projectName} with this email address.`, 'Open this link to continue:'], { url: mail.link, expires }, NOT_YOU);
  const html = `<!doctype html>
<html lang="en">
<body>
<p>Hello,</p>
<p>Someone asked to sign in to <strong>${escapeHtml(mail.projectName)}</strong> with this email address.</p>
<p><a href="${escapeHtml(mail.link)}">Sign in to ${escapeHtml(mail.projectName)}</a></p>
<p>The link works once and expires in ${escapeHtml(expires)}. If you did not ask for it, you can ignore this message.</p>
</body>
</html>
`;
  return { to: mail.to, subject: `Sign in to ${mail.projectName}`, text, html };
}

// The account mails (docs/accounts.md): a link to act on, or a notice. Plain text and HTML say
// the same; the project name is one line of plain text.
interface AccountMail {
  to: string;
  subject: string;
  /** the paragraphs before the link, and the link's words in the HTML part */
  lines: string[];
  link?: { url: string; label: string; expiresInSeconds: number };
  /** the closing paragraph */
  closing: string;
}

/** The plain-text part every message shares: greeting, paragraphs, the link and its lifetime, closing. */
function plainText(lines: string[], link: { url: string; expires: string } | undefined, closing: string): string {
  return ['Hello,', '', ...lines, ...(link ? ['', link.url, '', `The link works once and expires in ${link.expires}.`] : []), closing, ''].join('\n');
}

function oneLine(text: string): string {
  return text.replace(/\p{Cc}+/gu, ' ').trim();
}

function accountMessage(mail: AccountMail): MailMessage {
  const expires = mail.link ? describeLifetime(mail.link.expiresInSeconds) : '';
  const text = plainText(mail.lines, mail.link ? { url: mail.link.url, expires } : undefined, mail.closing);
  const html = `<!doctype html>
<html lang="en">
<body>
<p>Hello,</p>
${mail.lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
${mail.link ? `<p><a href="${escapeHtml(mail.link.url)}">${escapeHtml(mail.link.label)}</a></p>\n<p>The link works once and expires in ${escapeHtml(expires)}.</p>\n` : ''}<p>${escapeHtml(mail.closing)}</p>
</body>
</html>
`;
  return { to: mail.to, subject: oneLine(mail.subject), text, html };
}

/** POST /password-reset, for an existing account only. */
export function passwordResetMessage(input: { to: string; projectName: string; link: string; expiresInSeconds: number }): MailMessage {
  const project = oneLine(input.projectName);
  return accountMessage({
    to: input.to,
    subject: `Reset your password for ${project}`,
    lines: [`Someone asked to reset the password of this email address's account, to sign in to ${project}.`, 'Open this link to choose a new password:'],
    link: { url: input.link, label: 'Choose a new password', expiresInSeconds: input.expiresInSeconds },
    closing: `${NOT_YOU} Your password stays as it is.`,
  });
}

/** The verification link: after a registration (or a refused sign-in) it also signs in to `projectName`. */
export function emailVerificationMessage(input: { to: string; projectName?: string; link: string; expiresInSeconds: number }): MailMessage {
  const project = input.projectName === undefined ? undefined : oneLine(input.projectName);
  return accountMessage({
    to: input.to,
    subject: 'Verify your email address',
    lines: [project !== undefined ? `Please confirm that this address is yours, to continue to ${project}.` : 'Please confirm that this address is yours.', 'Open this link:'],
    link: { url: input.link, label: 'Verify my email address', expiresInSeconds: input.expiresInSeconds },
    closing: NOT_YOU,
  });
}

/** An email change: the link goes to the new address, and using it switches the account to it. */
export function emailChangeMessage(input: { to: string; link: string; expiresInSeconds: number }): MailMessage {
  return accountMessage({
    to: input.to,
    subject: 'Confirm your new email address',
    lines: ['Someone asked to use this address for their account. Open this link to confirm the change:'],
    link: { url: input.link, label: 'Use this email address', expiresInSeconds: input.expiresInSeconds },
    closing: `${NOT_YOU} Nothing changes until the link is used.`,
  });
}

/** To the old address, once an email change is done. */
export function emailChangedNotice(input: { to: string; newEmail: string }): MailMessage {
  return accountMessage({
    to: input.to,
    subject: 'Your email address was changed',
    lines: [`The email address of your account was changed to ${input.newEmail}.`],
    closing: 'If you did not make this change, contact the people who run this service at once.',
  });
}
