// The server's own secrets are not part of what a DAG run can see (api-v2.md Part A #6, issue
// #11): an API caller who may start runs must not be able to read the JWT secret or the basic
// auth password through a param like `X=${DAGU_AUTH_JWT_SECRET}` or a step's `printenv`, and a
// DAG author has no use for them either. Every run starts from this filtered environment.

// Whole families of settings that only the server reads.
const SECRET_PREFIXES = ['DAGU_AUTH_', 'DAGU_BASICAUTH_', 'DAGU_TLS_'];
// Single settings that point at or hold credentials.
const SECRET_NAMES = new Set(['DAGU_CERT_FILE', 'DAGU_KEY_FILE', 'DAGU_DATABASE_URL']);
// Any other DAGU_ setting whose name says it is a credential (Dagu has more of these over time).
const SECRET_WORDS = /PASSWORD|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|_KEY_FILE$|_CERT_FILE$/;

/** Whether `name` is one of the server's own secrets that no DAG may see. */
export function isServerSecret(name: string): boolean {
  const upper = name.toUpperCase();
  if (!upper.startsWith('DAGU_')) return false;
  return (
    SECRET_NAMES.has(upper) ||
    SECRET_PREFIXES.some((prefix) => upper.startsWith(prefix)) ||
    SECRET_WORDS.test(upper)
  );
}

/** A copy of `env` without the server's secrets (and without unset entries). */
export function scrubServerSecrets(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const visible: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !isServerSecret(name)) visible[name] = value;
  }
  return visible;
}
