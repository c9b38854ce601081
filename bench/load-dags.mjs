// Loads N generated DAG files (default 5,000) through the listing parse (loadDagMetadata: the
// whole YAML document, only the listing keys decoded) and the full loader and prints files/s for
// each. Run after a build: `node bench/load-dags.mjs [count]`.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDag, loadDagMetadata } from '../packages/core/dist/index.js';

const count = Number(process.argv[2] ?? 5000);
const dir = mkdtempSync(join(tmpdir(), 'dagu-bench-load-'));

function dagText(i) {
  const steps = Array.from({ length: 8 }, (_, s) =>
    [
      `  - name: step-${s}`,
      `    command: echo "run ${i} step ${s} \${P1}"`,
      s % 3 === 0 ? `    output: OUT_${s}` : undefined,
      s % 4 === 1 ? '    retryPolicy:\n      limit: 2\n      intervalSec: 1' : undefined,
      s % 5 === 2
        ? '    preconditions:\n      - condition: "${P1}"\n        expected: "re:^v"'
        : undefined,
    ]
      .filter(Boolean)
      .join('\n'),
  );
  return [
    `description: generated DAG number ${i}`,
    `tags: [bench, group-${i % 10}]`,
    `schedule: "${i % 60} * * * *"`,
    'params: "P1=value P2=\\"two words\\""',
    'env:\n  - BASE: /tmp/bench',
    'steps:',
    ...steps,
    'handlerOn:\n  failure:\n    command: echo failed',
  ].join('\n');
}

for (let i = 0; i < count; i++) writeFileSync(join(dir, `dag-${i}.yaml`), `${dagText(i)}\n`);
const files = readdirSync(dir).map((f) => join(dir, f));

async function measure(label, load) {
  // One warm-up pass over a slice so that JIT and file cache do not dominate the first figure.
  for (const file of files.slice(0, 200)) await load(file);
  const started = process.hrtime.bigint();
  for (const file of files) await load(file);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { label, files: files.length, seconds, perSecond: files.length / seconds };
}

try {
  const rows = [
    await measure('metadata (listing path)', loadDagMetadata),
    await measure('full load + validation', loadDag),
  ];
  console.log(`load-dags: ${count} generated DAG files (8 steps each), one process, sequential`);
  console.log('path                       files    seconds    files/s');
  for (const row of rows) {
    console.log(
      `${row.label.padEnd(26)} ${String(row.files).padStart(5)} ${row.seconds.toFixed(3).padStart(10)} ${Math.round(row.perSecond).toString().padStart(10)}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
