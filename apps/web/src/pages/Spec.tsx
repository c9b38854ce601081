import { useEffect, useMemo, useRef, useState } from 'react';
import { ErrorBox } from '../components.js';
import { fire, useAction, usePoll } from '../data.js';
import { errorLines } from '../format.js';

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
  const marked = useMemo(() => errorLines(errors), [errors]);
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
      {saved ? (
        <p className="ok" role="status">
          Saved.
        </p>
      ) : null}
      <div className="editor">
        <div className="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lineCount }, (_, i) => (
            <div key={i} className={marked.has(i + 1) ? 'bad' : ''}>
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
