// Backtick command substitution (dag-yaml.md §3.1 step 2).
import { trimGoSpace } from './go-text.js';
import type { ShellRunner } from './shell-runner.js';

/**
 * Replaces every `` `cmd` `` with the command's stdout, surrounding whitespace trimmed. A failing
 * command rejects. `` \` `` is never a delimiter and stays as written; an empty pair and an
 * unclosed backtick stay too.
 */
export async function substituteBackticks(text: string, runShell: ShellRunner): Promise<string> {
  if (!text.includes('`')) return text;
  let result = '';
  let command = '';
  let inCommand = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\' && text[i + 1] === '`') {
      if (inCommand) command += '\\`';
      else result += '\\`';
      i++;
      continue;
    }
    if (char !== '`') {
      if (inCommand) command += char;
      else result += char;
      continue;
    }
    if (!inCommand) {
      inCommand = true;
      continue;
    }
    inCommand = false;
    result += command === '' ? '``' : trimGoSpace(await runShell(command));
    command = '';
  }
  if (inCommand) result += `\`${command}`;
  return result;
}
