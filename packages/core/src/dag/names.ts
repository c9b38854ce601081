// The one rule for DAG file names and DAG names. A DAG's `name:` keys its run history and is a
// path segment of the API (`/dag-runs/{name}/…`) and of the log directory, so it must obey the
// same rule as the file names of the DAGs directory: otherwise a DAG could run under a name that
// no request can address, or that points its logs outside their directory.

/** Longest DAG file name in bytes, extension (`.yaml`) included: the usual file-system limit. */
export const MAX_DAG_FILE_NAME_BYTES = 255;

/**
 * Why `name` (a DAG name, or a file name without `.yaml`/`.yml`) is not acceptable, or undefined
 * when it is: empty, containing `/`, `\`, `..` or a control character (NUL included), or longer
 * than 255 bytes with the extension.
 */
export function dagNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (/[/\\]/.test(name)) return 'it contains a path separator';
  if (name.includes('..')) return 'it contains ".."';
  if (/[\x00-\x1f]/.test(name)) return 'it contains a control character'; // eslint-disable-line no-control-regex
  if (Buffer.byteLength(`${name}.yaml`) > MAX_DAG_FILE_NAME_BYTES)
    return `it is longer than ${MAX_DAG_FILE_NAME_BYTES} bytes`;
  return undefined;
}
