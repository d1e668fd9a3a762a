// The account mails (docs/accounts.md): a password reset, an email verification, an email
// change and its notice. Every value placed in HTML is escaped.
import type { MailMessage } from './mailer.ts';
import { escapeHtml } from '../http/html.ts';
import { describeLifetime, oneLine } from './templates.ts';

const NOT_YOU = 'If you did not ask for it, you can ignore this message.';

/** The plain-text part: greeting, paragraphs, the link and its lifetime, closing. */
function plainText(lines: string[], link: { url: string; expires: string } | undefined, closing: string): string {
  return ['Hello,', '', ...lines, ...(link ? ['', link.url, '', `The link works once and expires in ${link.expires}.`] : []), closing, ''].join('\n');
}

// A link to act on, or a notice. Plain text and HTML say the same; the project name is one line
// of plain text.
interface AccountMail {
  to: string;
  subject: string;
  /** the paragraphs before the link, and the link's words in the HTML part */
  lines: string[];
  link?: { url: string; label: string; expiresInSeconds: number };
  /** the closing paragraph */
  closing: string;
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
