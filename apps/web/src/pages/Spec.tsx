import { useEffect, useMemo, useRef, useState } from 'react';
import { ErrorBox } from '../components.js';
import { fire, useAction, usePoll, useSession } from '../data.js';
import { errorLines } from '../format.js';
import type { YamlProblem } from '../yaml-check.js';

/** Wait after the last keystroke before checking the YAML again. */
const CHECK_DELAY_MS = 250;

/**
 * Problems of `text` with their lines while typing: the YAML syntax in the browser first, then,
 * when the syntax is fine, what the DAG means (keys, steps, dependencies) from the server's
 * validate endpoint, which writes nothing.
 */
function useSpecProblems(text: string | undefined, fileName: string): YamlProblem[] {
  const { client } = useSession();
  const [problems, setProblems] = useState<YamlProblem[]>([]);
  useEffect(() => {
    if (text === undefined) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      // The parser is its own chunk: only the spec editor loads it.
      fire(
        import('../yaml-check.js')
          .then(async ({ yamlProblems }) => {
            const syntax = yamlProblems(text);
            if (syntax.length > 0) return syntax;
            const result = await client.validateDagSpec(
              { spec: text, name: fileName },
              { signal: controller.signal },
            );
            return result.errors.map((message) => ({
              line: [...errorLines([message])][0] ?? 1,
              message,
            }));
          })
          .then(
            (found) => {
              if (!controller.signal.aborted) setProblems(found);
            },
            // A failed check (offline, aborted) leaves the last answer; saving still validates.
            () => undefined,
          ),
      );
    }, CHECK_DELAY_MS);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [text, fileName, client]);
  return problems;
}

export function SpecEditor({
  fileName,
  canWrite,
  onSaved,
}: {
  fileName: string;
  canWrite: boolean;
  onSaved: () => void;
}) {
  const spec = usePoll(
    `spec:${fileName}`,
    (client, signal) => client.getDagSpec(fileName, { signal }),
    0,
  );
  const [text, setText] = useState<string>();
  const [errors, setErrors] = useState<string[]>([]);
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const gutter = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (spec.data && text === undefined) {
      setText(spec.data.spec);
      setErrors(spec.data.errors);
    }
  }, [spec.data, text]);

  const value = text ?? '';
  const lineCount = value.split('\n').length;
  const problems = useSpecProblems(text, fileName);
  const marked = useMemo(() => {
    const lines = errorLines(errors);
    for (const problem of problems) lines.add(problem.line);
    return lines;
  }, [errors, problems]);
  const dirty = spec.data !== undefined && value !== spec.data.spec;

  const save = async () => {
    setSaved(false);
    const result = await action.runAsync((client) =>
      client.updateDagSpec(fileName, { spec: value }),
    );
    if (!result) return;
    setErrors(result.errors);
    if (result.errors.length === 0) {
      setSaved(true);
      spec.reload();
      onSaved();
    }
  };

  if (!spec.data) return <ErrorBox error={spec.error} />;
  return (
    <section className="spec" aria-label="Spec">
      {errors.length > 0 ? (
        <div className="error" role="alert" aria-label="Validation errors">
          <strong>{errors.length === 1 ? 'Validation error' : 'Validation errors'}</strong>
          <ul>
            {errors.map((error) => (
              <li key={error}>{error}</li>
            ))}
          </ul>
        </div>
      ) : null}
      {problems.length > 0 ? (
        <div className="error" role="status" aria-label="Spec errors">
          <strong>{problems.length === 1 ? 'Error' : 'Errors'} in the spec (not saved yet)</strong>
          <ul>
            {problems.map((problem) => (
              <li key={`${problem.line}:${problem.message}`}>
                line {problem.line}: {problem.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {saved ? (
        <p className="ok" role="status">
          Saved.
        </p>
      ) : null}
      <div className="editor">
        <div className="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lineCount }, (_, i) => (
            <div
              key={i}
              className={marked.has(i + 1) ? 'bad' : ''}
              title={marked.has(i + 1) ? 'error on this line' : undefined}
            >
              {i + 1}
            </div>
          ))}
        </div>
        <textarea
          aria-label="DAG spec (YAML)"
          spellCheck={false}
          readOnly={!canWrite}
          value={value}
          rows={Math.min(40, Math.max(12, lineCount + 1))}
          onScroll={(event) => {
            if (gutter.current) gutter.current.scrollTop = event.currentTarget.scrollTop;
          }}
          onChange={(event) => {
            setText(event.target.value);
            setSaved(false);
          }}
        />
      </div>
      {canWrite ? (
        <div className="buttons">
          <button
            type="button"
            className="primary"
            disabled={!dirty || action.busy}
            onClick={() => fire(save())}
          >
            Save spec
          </button>
          <button
            type="button"
            disabled={!dirty || action.busy}
            onClick={() => {
              setText(spec.data!.spec);
              setErrors(spec.data!.errors);
            }}
          >
            Discard changes
          </button>
        </div>
      ) : null}
      <ErrorBox error={action.error} />
    </section>
  );
}
