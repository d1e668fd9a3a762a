// Outgoing mail: SMTP through nodemailer when GATEHOUSE_SMTP_URL is set; otherwise a dev
// outbox that writes the message to the log so that `npm start` works without a mail server.
import type { Transporter } from 'nodemailer';
import { lazyRequire } from '../lazy.ts';

/** Loaded only when SMTP is configured. */
const nodemailer = lazyRequire<typeof import('nodemailer')>('nodemailer');

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;
  constructor(
    url: string,
    private readonly from: string,
    /** GATEHOUSE_SMTP_TIMEOUT_MS: connecting, the greeting, and each wait on the socket */
    timeoutMs = 10_000,
  ) {
    // A pooled transport reuses its SMTP connection instead of a new handshake per mail.
    // nodemailer's own bounds (2 min to connect, 30 s for the greeting, 10 min of silence) held
    // requests to a frozen SMTP server up to 123 s; these answer 503 within the timeout.
    this.transport = nodemailer().createTransport({
      url,
      pool: true,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    });
  }

  async send(message: MailMessage): Promise<void> {
    await this.transport.sendMail({ from: this.from, ...message });
  }

  close(): void {
    this.transport.close();
  }
}

/** Development outbox: the message goes to the log (only when no SMTP server is configured). */
export class LogMailer implements Mailer {
  constructor(private readonly log: (message: MailMessage) => void) {}

  async send(message: MailMessage): Promise<void> {
    this.log(message);
  }

  close(): void {}
}
