// A password reset link mailed at an admin's request (POST /admin/users/:id/password-reset, and
// `gatehouse user password-reset`): the mail of "Forgot password?", sent now, whose link sets the
// password and finishes no sign-in (docs/decisions/0120-a-reset-mailed-by-an-admin-signs-in-nowhere.md).
import { passwordResetMessage } from '../../mail/account-messages.ts';
import { chooseLocale } from '../../pages/i18n.ts';
import type { Project } from '../../projects/projects.ts';
import type { Services } from '../../services.ts';
import type { User } from '../../users/users.ts';
import { accountTokens } from '../verify-email/routes.ts';

/** Mails `user` a reset link (a newer one ends the older ones); throws when the mail server refuses it. */
export async function mailResetLinkFor(services: Services, user: User, project?: Project): Promise<{ expiresInSeconds: number }> {
  const { config, mailer } = services;
  const tokens = accountTokens(services);
  const expiresInSeconds = config.passwordResetTtlSeconds;
  const { token, issued } = await tokens.issue({ purpose: 'password_reset', user, ttlMs: expiresInSeconds * 1000 });
  await tokens.endOlder(issued);
  const link = `${config.issuer}/password-reset/verify?token=${encodeURIComponent(token)}`;
  // The person's own language when their profile names one of the pages' languages.
  const locale = chooseLocale({ uiLocales: user.locale ?? undefined });
  await tokens.mail(issued, () => mailer.send(passwordResetMessage({ to: user.email, projectName: project?.name ?? 'Gatehouse', link, expiresInSeconds, locale })));
  return { expiresInSeconds };
}
