// The account mails (docs/accounts.md): a password reset, an email verification, an email
// change and its notice, each in the language it is given ("Languages of the mails"). Every
// value placed in HTML is escaped.
import type { MailMessage } from './mailer.ts';
import { escapeHtml } from '../http/html.ts';
import { translator, type Locale, type Translator } from '../pages/i18n.ts';
import { oneLine } from './templates.ts';

/** The plain-text part: greeting, paragraphs, the link and its lifetime, closing. */
function plainText(hello: string, lines: string[], link: { url: string; expires: string } | undefined, closing: string): string {
  return [hello, '', ...lines, ...(link ? ['', link.url, '', link.expires] : []), closing, ''].join('\n');
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

function accountMessage(tr: Translator, mail: AccountMail): MailMessage {
  const { t, lifetime } = tr;
  const hello = t('mail.hello');
  const expires = mail.link ? t('mail.link_expires', { lifetime: lifetime(mail.link.expiresInSeconds) }) : '';
  const text = plainText(hello, mail.lines, mail.link ? { url: mail.link.url, expires } : undefined, mail.closing);
  const html = `<!doctype html>
<html lang="${tr.locale}">
<body>
<p>${escapeHtml(hello)}</p>
${mail.lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('\n')}
${mail.link ? `<p><a href="${escapeHtml(mail.link.url)}">${escapeHtml(mail.link.label)}</a></p>\n<p>${escapeHtml(expires)}</p>\n` : ''}<p>${escapeHtml(mail.closing)}</p>
</body>
</html>
`;
  return { to: mail.to, subject: oneLine(mail.subject), text, html };
}

/** POST /password-reset, for an existing account only. */
export function passwordResetMessage(input: { to: string; projectName: string; link: string; expiresInSeconds: number; locale: Locale }): MailMessage {
  const tr = translator(input.locale);
  const { t } = tr;
  const app = oneLine(input.projectName);
  return accountMessage(tr, {
    to: input.to,
    subject: t('mail.reset_subject', { app }),
    lines: [t('mail.reset_asked', { app }), t('mail.reset_open')],
    link: { url: input.link, label: t('mail.reset_link_text'), expiresInSeconds: input.expiresInSeconds },
    closing: `${t('mail.ignore')} ${t('mail.reset_unchanged')}`,
  });
}

/** The verification link: after a registration (or a refused sign-in) it also signs in to `projectName`. */
export function emailVerificationMessage(input: { to: string; projectName?: string; link: string; expiresInSeconds: number; locale: Locale }): MailMessage {
  const tr = translator(input.locale);
  const { t } = tr;
  const app = input.projectName === undefined ? undefined : oneLine(input.projectName);
  return accountMessage(tr, {
    to: input.to,
    subject: t('mail.verify_subject'),
    lines: [app !== undefined ? t('mail.verify_asked_app', { app }) : t('mail.verify_asked'), t('mail.verify_open')],
    link: { url: input.link, label: t('mail.verify_link_text'), expiresInSeconds: input.expiresInSeconds },
    closing: t('mail.ignore'),
  });
}

/** An email change: the link goes to the new address, and using it switches the account to it. */
export function emailChangeMessage(input: { to: string; link: string; expiresInSeconds: number; locale: Locale }): MailMessage {
  const tr = translator(input.locale);
  const { t } = tr;
  return accountMessage(tr, {
    to: input.to,
    subject: t('mail.change_subject'),
    lines: [t('mail.change_asked')],
    link: { url: input.link, label: t('mail.change_link_text'), expiresInSeconds: input.expiresInSeconds },
    closing: `${t('mail.ignore')} ${t('mail.change_unchanged')}`,
  });
}

/** To the old address, once an email change is done. */
export function emailChangedNotice(input: { to: string; newEmail: string; locale: Locale }): MailMessage {
  const tr = translator(input.locale);
  const { t } = tr;
  return accountMessage(tr, {
    to: input.to,
    subject: t('mail.changed_subject'),
    lines: [t('mail.changed_text', { email: input.newEmail })],
    closing: t('mail.changed_not_you'),
  });
}
