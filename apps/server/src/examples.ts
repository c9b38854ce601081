// Example DAGs written on the first start of a new home, so a newcomer sees something in the list.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const EXAMPLE_DAGS: Readonly<Record<string, string>> = {
  'example-hello.yaml': `# Two steps in a chain: a parameter, an output passed along, and an exit handler.
description: Say hello and pass the greeting to the next step
tags: [example]
params: NAME=dagu-ts
steps:
  - name: greet
    command: echo "hello, \${NAME}"
    output: GREETING
  - name: shout
    command: echo "\${GREETING}" | tr a-z A-Z
handlerOn:
  exit:
    command: echo done
`,
  'example-pipeline.yaml': `# A small pipeline: two steps run in parallel after the first, the last waits for both.
description: Extract, transform in parallel, load
tags: [example]
steps:
  - name: extract
    command: echo "extracting"
  - name: transform-a
    command: sleep 1 && echo "transform a"
    depends: [extract]
  - name: transform-b
    command: sleep 1 && echo "transform b"
    depends: [extract]
  - name: load
    command: echo "loading"
    depends: [transform-a, transform-b]
`,
};

/** True when the directory is missing or holds no DAG file. */
export function hasNoDagFiles(dagsDir: string): boolean {
  if (!existsSync(dagsDir)) return true;
  return !readdirSync(dagsDir).some((name) => /\.ya?ml$/.test(name));
}

/** Writes the example DAGs; returns their file names. Existing files are never overwritten. */
export async function writeExampleDags(dagsDir: string): Promise<string[]> {
  await mkdir(dagsDir, { recursive: true });
  const written: string[] = [];
  for (const [fileName, yaml] of Object.entries(EXAMPLE_DAGS)) {
    try {
      await writeFile(join(dagsDir, fileName), yaml, { flag: 'wx' });
      written.push(fileName);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return written;
}
