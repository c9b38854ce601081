// The `mail` executor (dag-yaml.md §6) and the one way this engine sends mail (package
// nodemailer, imported only when a mail is sent), which run-end notifications use too (§4.8).
import { basename, resolve } from 'node:path';
import type { SmtpConfig } from '../dag/model.js';
import { evaluateConfigValue, evaluateStepConfig } from './config.js';
import type { Executor } from './executor.js';

/** One mail: HTML body, files attached by path. */
export interface MailMessage {
  from: string;
  to: readonly string[];
  subject: string;
  /** HTML; plain text has its line breaks turned into `<br />` (Dagu's mailer). */
  body: string;
  /** Paths of files to attach; empty files are left out, as Dagu does. */
  attachments?: readonly string[];
}

/** Seconds for each phase of an SMTP exchange (connect, greeting, every reply). */
export const MAIL_TIMEOUT_SEC = 30;

/**
 * Sends `message` through `smtp`: AUTH when a username or password is set, STARTTLS whenever the
 * server offers it (TLS from the start on port 465). Rejects with the SMTP error.
 */
export async function sendMail(smtp: SmtpConfig, message: MailMessage): Promise<void> {
  if (!smtp.host) throw new Error('no SMTP host configured (smtp.host)');
  const port = Number(smtp.port || 25);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`smtp.port must be a port number, not ${JSON.stringify(smtp.port)}`);
  const { createTransport } = (await import('nodemailer')).default;
  const transport = createTransport({
    host: smtp.host,
    port,
    secure: port === 465,
    ...(smtp.username || smtp.password
      ? { auth: { user: smtp.username, pass: smtp.password } }
      : {}),
    connectionTimeout: MAIL_TIMEOUT_SEC * 1000,
    greetingTimeout: MAIL_TIMEOUT_SEC * 1000,
    socketTimeout: MAIL_TIMEOUT_SEC * 1000,
  });
  try {
    const { readFile } = await import('node:fs/promises');
    const attachments = [];
    for (const path of message.attachments ?? []) {
      const content = await readFile(path).catch(() => undefined);
      if (content && content.length > 0) attachments.push({ filename: basename(path), content });
    }
    await transport.sendMail({
      from: message.from,
      to: [...message.to],
      subject: message.subject,
      html: htmlBody(message.body),
      attachments,
    });
  } finally {
    transport.close();
  }
}

/** Dagu's processEmailBody: a body that is not an HTML document gets `<br />` for line breaks. */
function htmlBody(body: string): string {
  if (body.trim().toLowerCase().startsWith('<!doctype html')) return body;
  return body.replace(/\r\n|\r|\n/g, '<br />');
}

/**
 * The `mail` executor: `from`, `to` (an address, a comma-separated list or a YAML list),
 * `subject`, `message` and `attachments` (paths, relative to the step's directory), all
 * evaluated, sent through the DAG's `smtp` evaluated the same way.
 */
export const mailExecutor: Executor = {
  async run(context) {
    const config = await evaluateStepConfig(context);
    const smtp = (await evaluateConfigValue(context, context.dag.smtp ?? {})) as Partial<
      Record<keyof SmtpConfig | 'username', unknown>
    >;
    const text = (value: unknown): string =>
      value === undefined || value === null ? '' : String(value);
    const list = (value: unknown): string[] =>
      (Array.isArray(value) ? value.map(text) : text(value).split(','))
        .map((item) => item.trim())
        .filter(Boolean);
    const from = text(config.from);
    const to = list(config.to);
    const subject = text(config.subject);
    const message = text(config.message);
    context.write(
      'stdout',
      `sending email\n-----\nfrom: ${from}\nto: ${to.join(', ')}\nsubject: ${subject}\nmessage: ${message}\n-----\n`,
    );
    if (to.length === 0) return { exitCode: 1, error: 'mail: config.to is required' };
    try {
      await sendMail(
        {
          host: text(smtp.host),
          port: text(smtp.port),
          username: text(smtp.username),
          password: text(smtp.password),
        },
        {
          from,
          to,
          subject,
          body: message,
          attachments: list(config.attachments).map((path) => resolve(context.workDir, path)),
        },
      );
    } catch (error) {
      context.write('stderr', 'error occurred.');
      return { exitCode: 1, error: `mail: ${(error as Error).message}` };
    }
    context.write('stdout', 'sending email succeed.');
    return { exitCode: 0, error: undefined };
  },
};
