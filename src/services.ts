// What the routes are given: every service, built once per app by app.ts.
import type { AuditLog } from './audit/audit-log.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { KeyRing } from './crypto/keys.ts';
import type { PasswordHasher } from './crypto/passwords.ts';
import type { Mailer } from './mail/mailer.ts';
import type { AuthorizationCodes } from './oauth/codes.ts';
import type { TokenIssuer } from './oauth/token-issuer.ts';
import type { PinService } from './pins/pins.ts';
import type { ProjectService } from './projects/projects.ts';
import type { SessionService } from './sessions/sessions.ts';
import type { BrowserSessionService } from './sessions/browser-sessions.ts';
import type { OpenedDatabase } from './storage/database.ts';
import type { KeyValueStore } from './storage/kv.ts';
import type { RateLimits } from './storage/rate-limits.ts';
import type { UserService } from './users/users.ts';
import type { AccountsIo } from './users/accounts-io.ts';
import type { Ids } from './crypto/random.ts';
import type { SecretBox } from './crypto/sealed.ts';
import type { SecondFactors } from './users/second-factors.ts';
import type { MfaChallenges } from './login/mfa/challenges.ts';
import type { WebhookService } from './webhooks/webhooks.ts';
import type { Passkeys } from './users/passkeys.ts';
import type { PasskeyCeremonies } from './login/passkey/webauthn.ts';
import type { BackchannelLogout } from './oauth/backchannel-logout.ts';
import type { ConnectionService } from './federation/connections.ts';
import type { Journeys } from './federation/journeys.ts';

export interface Services {
  config: Config;
  clock: Clock;
  ids: Ids;
  database: OpenedDatabase;
  kv: KeyValueStore;
  limits: RateLimits;
  /** writes the rate-limit counters still only in memory (SQLite); called at shutdown */
  closeLimits(): Promise<void>;
  hasher: PasswordHasher;
  keys: KeyRing;
  projects: ProjectService;
  users: UserService;
  /** accounts in and out in bulk (gatehouse users import | export) */
  accountsIo: AccountsIo;
  pins: PinService;
  codes: AuthorizationCodes;
  sessions: SessionService;
  tokens: TokenIssuer;
  audit: AuditLog;
  mailer: Mailer;
  /** seals secrets at rest under GATEHOUSE_SECRET_KEY (crypto/sealed.ts) */
  secretBox: SecretBox;
  /** one signed-in person in one browser (docs/sso.md) */
  browserSessions: BrowserSessionService;
  /** mfa.md: TOTP and recovery codes */
  secondFactors: SecondFactors;
  /** mfa.md: the mfa_tokens of second steps under way */
  mfaChallenges: MfaChallenges;
  /** mfa.md: the tokens of enrolments at sign-in, for a require_mfa project (docs/decisions/0099) */
  mfaEnrolments: MfaChallenges;
  /** mfa.md: a person's passkeys */
  passkeys: Passkeys;
  /** mfa.md: the WebAuthn ceremonies of passkeys and their challenges */
  passkeyCeremonies: PasskeyCeremonies;
  /** audit events POSTed to receivers, through the outbox (docs/webhooks.md) */
  webhooks: WebhookService;
  /** logout tokens POSTed to the projects' back-channel logout URIs, through the same outbox (docs/backchannel-logout.md) */
  backchannelLogout: BackchannelLogout;
  /** federation.md: upstream OpenID providers and the identities linked to them */
  connections: ConnectionService;
  /** federation.md: the journeys to a provider and back under way */
  journeys: Journeys;
  /** true when every storage backend answers */
  healthy(): Promise<boolean>;
}
