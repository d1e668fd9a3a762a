// The messages Gatehouse sends. Every value placed in HTML is escaped.
import type { MailMessage } from './mailer.ts';
import { escapeHtml } from '../http/html.ts';

interface MagicLinkMail {
  to: string;
  projectName: string;
  link: string;
  expiresInSeconds: number;
}

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
  const text = [
    'Hello,',
    '',
    `Someone asked to sign in to ${mail.projectName} with this email address.`,
    'Open this link to continue:',
    '',
    mail.link,
    '',
    `The link works once and expires in ${expires}.`,
    'If you did not ask for it, you can ignore this message.',
    '',
  ].join('\n');
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
