// The messages Gatehouse sends. Every value placed in HTML is escaped.
import type { MailMessage } from './mailer.ts';
import { escapeHtml } from '../http/html.ts';
import { translator, type Locale } from '../pages/i18n.ts';

interface MagicLinkMail {
  to: string;
  projectName: string;
  link: string;
  expiresInSeconds: number;
  /** the language of the flow (src/pages/i18n.ts) */
  locale: Locale;
}

/** A lifetime in words, in the mail's language ("15 minutes", "1 Stunde"): the translator's lifetime keys. */
export function describeLifetime(seconds: number, locale: Locale): string {
  return translator(locale).lifetime(seconds);
}

/** A name as one line of plain text, for a header and a body. */
export function oneLine(text: string): string {
  return text.replace(/\p{Cc}+/gu, ' ').trim();
}

/** A catalogue text as HTML: the text and each value escaped, the named values in bold. */
function htmlText(template: string, vars: Record<string, string>, bold: readonly string[] = []): string {
  return template
    .split(/(\{\w+\})/)
    .map((part) => {
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      const value = name === undefined ? undefined : vars[name];
      if (name === undefined || value === undefined) return escapeHtml(part);
      return bold.includes(name) ? `<strong>${escapeHtml(value)}</strong>` : escapeHtml(value);
    })
    .join('');
}

/** The same message whether or not the address has an account, so a mail reveals nothing either. */
export function magicLinkMessage(mail: MagicLinkMail): MailMessage {
  const { t, lifetime } = translator(mail.locale);
  const app = oneLine(mail.projectName);
  const expires = t('mail.link_expires', { lifetime: lifetime(mail.expiresInSeconds) });
  const text = [t('mail.hello'), '', t('mail.magic_asked', { app }), t('mail.magic_open'), '', mail.link, '', expires, t('mail.ignore'), ''].join('\n');
  const html = `<!doctype html>
<html lang="${mail.locale}">
<body>
<p>${escapeHtml(t('mail.hello'))}</p>
<p>${htmlText(t('mail.magic_asked'), { app }, ['app'])}</p>
<p><a href="${escapeHtml(mail.link)}">${escapeHtml(t('mail.magic_link_text', { app }))}</a></p>
<p>${escapeHtml(expires)} ${escapeHtml(t('mail.ignore'))}</p>
</body>
</html>
`;
  return { to: mail.to, subject: t('mail.magic_subject', { app }), text, html };
}

/** The notice of a password changed on the account page (accounts.md), in the page's language: never the password itself. */
export function passwordChangedMessage(input: { to: string; at: Date; accountLink: string; locale: Locale }): MailMessage {
  const { t } = translator(input.locale);
  const changed = t('mail.password_changed_text', { email: input.to, when: `${input.at.toISOString().slice(0, 16).replace('T', ' ')} UTC` });
  const others = t('mail.password_changed_others');
  const text = [t('mail.hello'), '', changed, others, '', t('mail.password_changed_not_you'), input.accountLink, ''].join('\n');
  const html = `<!doctype html>
<html lang="${input.locale}">
<body>
<p>${escapeHtml(t('mail.hello'))}</p>
<p>${escapeHtml(changed)} ${escapeHtml(others)}</p>
<p>${escapeHtml(t('mail.password_changed_not_you'))} <a href="${escapeHtml(input.accountLink)}">${escapeHtml(t('mail.password_changed_review'))}</a></p>
</body>
</html>
`;
  return { to: input.to, subject: t('mail.password_changed_subject'), text, html };
}
