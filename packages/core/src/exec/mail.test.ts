// The mail executor and run-end notifications against a real SMTP server on loopback
// (smtp-server), every message parsed back (mailparser).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DagRunner, DagRunStatus, NodeStatus, parseDag } from '@dagu-ts/core';

const work = mkdtempSync(join(tmpdir(), 'dagu-mail-'));
const logDir = join(work, 'logs');

interface Received {
  mail: ParsedMail;
  user: string | undefined;
  password: string | undefined;
  secure: boolean;
}

/** An SMTP server on a free loopback port that keeps every message it receives. */
async function startSmtp(options: { starttls: boolean }): Promise<{
  port: number;
  received: Received[];
  close: () => Promise<void>;
}> {
  const received: Received[] = [];
  // With STARTTLS on, smtp-server offers it with its built-in self-signed certificate.
  const server = new SMTPServer({
    disabledCommands: options.starttls ? [] : ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      callback(null, { user: `${auth.username}:${auth.password}` });
    },
    onData(stream, session, callback) {
      const [user, password] = String(session.user ?? '').split(':');
      simpleParser(stream)
        .then((mail) => {
          received.push({ mail, user: user || undefined, password, secure: session.secure });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.server.address() as { port: number }).port;
  return {
    port,
    received,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

let smtp: Awaited<ReturnType<typeof startSmtp>>;
beforeAll(async () => {
  smtp = await startSmtp({ starttls: false });
});
beforeEach(() => {
  smtp.received.length = 0;
});
afterAll(async () => {
  await smtp.close();
  rmSync(work, { recursive: true, force: true });
});

const html = (mail: ParsedMail): string => (typeof mail.html === 'string' ? mail.html : '');
const to = (mail: ParsedMail): string[] =>
  [mail.to ?? []].flat().flatMap((address) => address.value.map((v) => v.address ?? ''));

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

describe('mail executor', () => {
  it('sends a message with every field evaluated, through the evaluated smtp block', async () => {
    writeFileSync(join(work, 'report.csv'), 'a,b\n1,2\n');
    const dag = parseDag(
      `params:
  - RECIPIENT: team@example.com
env:
  - SMTP_PASS: s3cret
smtp:
  host: 127.0.0.1
  port: "${smtp.port}"
  username: mailer
  password: \${SMTP_PASS}
steps:
  - name: measure
    command: echo 42
    output: ANSWER
  - name: send
    dir: ${work}
    executor:
      type: mail
      config:
        from: robot@example.com
        to:
          - \${RECIPIENT}
          - second@example.com
        subject: "\${DAG_NAME} says \${ANSWER}"
        message: |
          <b>answer</b>: \${ANSWER}
          second line
        attachments: [report.csv]
`,
      { name: 'mailer' },
    );
    const result = await new DagRunner({ dag, logDir }).run();
    const send = result.snapshot.nodes[1]!;
    expect(send.error).toBe('');
    expect(result.status).toBe(DagRunStatus.Success);
    expect(smtp.received).toHaveLength(1);
    const { mail, user, password } = smtp.received[0]!;
    expect(mail.from?.value[0]?.address).toBe('robot@example.com');
    expect(to(mail)).toEqual(['team@example.com', 'second@example.com']);
    expect(mail.subject).toBe('mailer says 42');
    expect(html(mail)).toContain('<b>answer</b>: 42<br />second line');
    expect(mail.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([
      ['report.csv', 'a,b\n1,2\n'],
    ]);
    expect([user, password]).toEqual(['mailer', 's3cret']);
    const log = readFileSync(send.stdout, 'utf8');
    expect(log).toContain('subject: mailer says 42\n');
    expect(log.endsWith('sending email succeed.')).toBe(true);
  });

  it('an SMTP server that cannot be reached fails the step', async () => {
    const closed = await freePort();
    const dag = parseDag(
      `smtp: {host: 127.0.0.1, port: "${closed}"}
steps:
  - name: send
    executor: {type: mail, config: {from: a@example.com, to: b@example.com, subject: s, message: m}}
`,
      { name: 'unreachable' },
    );
    const node = (await new DagRunner({ dag, logDir }).run()).snapshot.nodes[0]!;
    expect(node.status).toBe(NodeStatus.Failed);
    expect(node.error).toContain(`mail: connect ECONNREFUSED 127.0.0.1:${closed}`);
  });

  it('upgrades to TLS with STARTTLS when the server offers it', async () => {
    // smtp-server offers STARTTLS with its built-in certificate, which no client trusts: the
    // upgrade is attempted and refused, so nothing is ever sent in clear text.
    const tlsServer = await startSmtp({ starttls: true });
    try {
      const dag = parseDag(
        `smtp: {host: 127.0.0.1, port: "${tlsServer.port}"}
steps:
  - name: send
    executor: {type: mail, config: {from: a@example.com, to: b@example.com, subject: s, message: m}}
`,
        { name: 'starttls' },
      );
      const node = (await new DagRunner({ dag, logDir }).run()).snapshot.nodes[0]!;
      expect(node.status).toBe(NodeStatus.Failed);
      // Rejected (self-signed, and by now expired): the mail went through TLS or not at all.
      expect(node.error).toMatch(/^mail: .*certificate/);
      expect(tlsServer.received).toHaveLength(0);
    } finally {
      await tlsServer.close();
    }
  });
});

describe('mail notifications (§4.8)', () => {
  const header = (port: number, failure = true, success = true): string => `smtp:
  host: 127.0.0.1
  port: "${port}"
mailOn: {failure: ${failure}, success: ${success}}
errorMail: {from: dagu@example.com, to: ops@example.com, prefix: "[Error]", attachLogs: true}
infoMail: {from: dagu@example.com, to: info@example.com, prefix: "[Info]"}
`;

  it('a failed run sends the error mail with the step logs attached', async () => {
    const dag = parseDag(
      `${header(smtp.port)}steps:
  - name: work
    command: echo "some output"; echo "a warning" >&2; exit 2
`,
      { name: 'nightly' },
    );
    const result = await new DagRunner({ dag, logDir }).run();
    expect(result.status).toBe(DagRunStatus.Failed);
    expect(smtp.received).toHaveLength(1);
    const { mail } = smtp.received[0]!;
    expect(mail.subject).toBe('[Error] nightly (failed)');
    expect(to(mail)).toEqual(['ops@example.com']);
    expect(html(mail)).toContain(result.snapshot.dagRunId);
    expect(html(mail)).toContain('exit status 2');
    expect(mail.attachments.map((a) => a.content.toString()).sort()).toEqual([
      'a warning\n',
      'some output\n',
    ]);
  });

  it('a partially successful run counts as a failure', async () => {
    const dag = parseDag(
      `${header(smtp.port)}steps:
  - name: flaky
    command: exit 1
    continueOn: {failure: true}
  - name: fine
    command: echo ok
`,
      { name: 'partial' },
    );
    const result = await new DagRunner({ dag, logDir }).run();
    expect(result.status).toBe(DagRunStatus.PartialSuccess);
    expect(smtp.received.map((r) => r.mail.subject)).toEqual(['[Error] partial (partial success)']);
  });

  it('a successful run sends the info mail, without logs unless attachLogs', async () => {
    const dag = parseDag(`${header(smtp.port)}steps:\n  - name: ok\n    command: echo fine\n`, {
      name: 'daily',
    });
    const result = await new DagRunner({ dag, logDir }).run();
    expect(result.status).toBe(DagRunStatus.Success);
    expect(smtp.received).toHaveLength(1);
    const { mail } = smtp.received[0]!;
    expect(mail.subject).toBe('[Info] daily (finished)');
    expect(to(mail)).toEqual(['info@example.com']);
    expect(mail.attachments).toEqual([]);
  });

  it('sends nothing for a trigger that is off, or without the matching mail config', async () => {
    const off = parseDag(
      `${header(smtp.port, false, false)}steps:\n  - name: x\n    command: exit 1\n`,
      {
        name: 'off',
      },
    );
    await new DagRunner({ dag: off, logDir }).run();
    const noInfo = parseDag(
      `smtp: {host: 127.0.0.1, port: "${smtp.port}"}\nmailOn: {success: true}\nsteps:\n  - name: x\n    command: "true"\n`,
      { name: 'no-info' },
    );
    await new DagRunner({ dag: noInfo, logDir }).run();
    expect(smtp.received).toEqual([]);
  });

  it('a step with mailOnError sends the error mail when it fails', async () => {
    const dag = parseDag(
      `${header(smtp.port, false, false)}steps:
  - name: careful
    command: exit 5
    mailOnError: true
    continueOn: {failure: true}
  - name: quiet
    command: exit 6
    depends: []
`,
      { name: 'steps' },
    );
    const result = await new DagRunner({ dag, logDir }).run();
    expect(result.status).toBe(DagRunStatus.Failed);
    expect(smtp.received.map((r) => r.mail.subject)).toEqual(['[Error] steps (running)']);
    expect(html(smtp.received[0]!.mail)).toContain('exit status 5');
  });

  it('a notification that cannot be sent is logged and leaves the run as it was', async () => {
    const closed = await freePort();
    for (const [command, status] of [
      ['exit 1', DagRunStatus.Failed],
      ['echo ok', DagRunStatus.Success],
    ] as const) {
      const dag = parseDag(
        `${header(closed).replace('port:', 'password: hunter2\n  port:')}steps:\n  - name: x\n    command: ${command}\n`,
        { name: 'unsent' },
      );
      const result = await new DagRunner({ dag, logDir }).run();
      expect(result.status).toBe(status);
      expect(result.exitCode).toBe(status === DagRunStatus.Success ? 0 : 1);
      const runLog = readFileSync(result.snapshot.log, 'utf8');
      expect(runLog).toMatch(/cannot send the (failure|success) mail to .*ECONNREFUSED/);
      expect(runLog).not.toContain('hunter2');
    }
  });

  it('runs examples/send-mail.yaml and examples/mail-notifications.yaml against the server', async () => {
    const examples = resolve(__dirname, '../../../../examples');
    const sendMail = parseDag(readFileSync(join(examples, 'send-mail.yaml'), 'utf8'), {
      location: join(examples, 'send-mail.yaml'),
    });
    const sent = await new DagRunner({
      dag: sendMail,
      logDir,
      params: { text: `MAIL_TO=me@example.com SMTP_HOST=127.0.0.1 SMTP_PORT=${smtp.port}` },
    }).run();
    expect(sent.snapshot.nodes.map((n) => n.error)).toEqual(['', '']);
    // The notification example's smtp block is literal: point it at the test server.
    const text = readFileSync(join(examples, 'mail-notifications.yaml'), 'utf8')
      .replace('host: localhost', 'host: 127.0.0.1')
      .replace("port: '25'", `port: '${smtp.port}'`);
    const notified = await new DagRunner({
      dag: parseDag(text, { name: 'mail-notifications' }),
      logDir,
    }).run();
    expect(notified.status).toBe(DagRunStatus.Success);
    expect(smtp.received.map((r) => [r.mail.subject, to(r.mail)])).toEqual([
      [expect.stringMatching(/^send-mail: \d+ files$/), ['me@example.com']],
      ['[Info] mail-notifications (finished)', ['ops@example.com']],
    ]);
  });
});
