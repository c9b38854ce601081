// Mail notifications of a run (dag-yaml.md §4.8): `mailOn.failure` + `errorMail` and
// `mailOn.success` + `infoMail` at the end of the run, a step's `mailOnError` + `errorMail` when
// that step ends failed. The DAG's `smtp` is used as written (§3.2: not evaluated for
// notifications). A mail that cannot be sent is written to the run log and changes nothing else.
import type { Dag, MailConfig } from '../dag/model.js';
import { sendMail, type MailMessage } from '../exec/mail.js';
import { DagRunStatus, NodeStatus, dagRunStatusLabel, nodeStatusLabel } from './status.js';
import type { DagRunSnapshot, NodeState, RunEvent } from './types.js';

/** Sends one mail; the default is the SMTP sender of the mail executor. */
export type MailSender = (smtp: NonNullable<Dag['smtp']>, message: MailMessage) => Promise<void>;

export interface RunNotifier {
  /** Subscribe it to the run's events. */
  listener(event: RunEvent): void;
  /** Resolves when every mail started so far has been sent or has failed. */
  settled(): Promise<void>;
}

/** The notifier of a run of `dag`, or undefined when the DAG asks for no mail at all. */
export function createRunNotifier(
  dag: Dag,
  log: (line: string) => void,
  send: MailSender = sendMail,
): RunNotifier | undefined {
  const errorMail = dag.errorMail;
  const infoMail = dag.infoMail;
  const wantsStepMails =
    errorMail && [...dag.steps, ...Object.values(dag.handlerOn)].some((step) => step?.mailOnError);
  if (!dag.mailOn && !wantsStepMails) return undefined;
  const pending = new Set<Promise<void>>();

  const notify = (kind: string, mail: MailConfig, run: DagRunSnapshot): void => {
    const sending = send(dag.smtp ?? { host: '', port: '', username: '', password: '' }, {
      from: mail.from,
      to: [mail.to],
      subject: [mail.prefix, dag.name, `(${dagRunStatusLabel(run.status)})`]
        .filter(Boolean)
        .join(' '),
      body: runSummaryHtml(run),
      attachments: mail.attachLogs ? logFilesOf(run) : [],
    })
      .then(() => log(`sent the ${kind} mail to ${mail.to}`))
      .catch((error: unknown) =>
        log(
          `cannot send the ${kind} mail to ${mail.to} through ${dag.smtp?.host ?? '(no smtp)'}:${dag.smtp?.port ?? ''}: ${(error as Error).message}`,
        ),
      )
      .finally(() => pending.delete(sending));
    pending.add(sending);
  };

  return {
    listener(event) {
      if (event.type === 'step-finished') {
        const node = event.node;
        if (errorMail && node.step.mailOnError && node.status === NodeStatus.Failed)
          notify(`error (step ${node.step.name})`, errorMail, event.run);
        return;
      }
      if (event.type !== 'run-finished') return;
      const run = event.run;
      if (run.error !== '' || run.status === DagRunStatus.Failed) {
        if (dag.mailOn?.failure && errorMail) notify('failure', errorMail, run);
      } else if (
        run.status === DagRunStatus.Success ||
        run.status === DagRunStatus.PartialSuccess
      ) {
        if (dag.mailOn?.success && infoMail) notify('success', infoMail, run);
      }
    },
    async settled() {
      while (pending.size > 0) await Promise.all(pending);
    },
  };
}

/** Every non-empty step log of the run (stdout and stderr), handlers included. */
function logFilesOf(run: DagRunSnapshot): string[] {
  const nodes = [...run.nodes, ...Object.values(run.handlers)];
  return nodes.flatMap((node) => [node.stdout, node.stderr]).filter(Boolean);
}

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** An HTML document: the run's name, id, params, times and status, then one row per step. */
export function runSummaryHtml(run: DagRunSnapshot): string {
  const cell = (text: string): string => `<td>${escapeHtml(text)}</td>`;
  const row = (node: NodeState, index: number): string => {
    const command = node.step.command;
    return `<tr>${[
      String(index + 1),
      node.step.name,
      node.startedAt,
      node.finishedAt,
      nodeStatusLabel(node.status),
      Array.isArray(command) ? command.join(' ') : (command ?? ''),
      node.error,
    ]
      .map(cell)
      .join('')}</tr>`;
  };
  const fields: Array<[string, string]> = [
    ['DAG', run.name],
    ['Run ID', run.dagRunId],
    ['Status', dagRunStatusLabel(run.status)],
    ['Params', run.params || '(none)'],
    ['Started at', run.startedAt],
    ['Finished at', run.finishedAt],
    ['Error', run.error],
  ];
  return `<!DOCTYPE html>
<html><head><meta charset="UTF-8"><title>${escapeHtml(run.name)}</title></head><body>
<table>${fields.map(([label, value]) => `<tr><th align="left">${label}</th>${cell(value)}</tr>`).join('')}</table>
<table border="1" cellspacing="0" cellpadding="4">
<tr><th>#</th><th>Step</th><th>Started at</th><th>Finished at</th><th>Status</th><th>Command</th><th>Error</th></tr>
${run.nodes.map(row).join('\n')}
</table></body></html>`;
}
