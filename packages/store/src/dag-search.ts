// Regex search over DAG files (api-v2.md §5.2 GET /dags/search, §3.16). The pattern is an RE2
// expression, as in Dagu (Go's regexp), matched case-insensitively line by line. RE2 matches in
// time linear in the input, so a pattern like `(a+)+$` cannot backtrack catastrophically: the
// work is bounded by pattern size × file size, and both are capped.
import type { RE2JS } from 're2js';
import { DaguError, type DagSearchMatch } from '@dagu-ts/core';

/** Longest pattern accepted. */
export const MAX_SEARCH_PATTERN_LENGTH = 1_000;

const SNIPPET_CONTEXT = 2;

export interface CompiledSearch {
  test(line: string): boolean;
  /**
   * A cheap whole-file pre-check: false means no line of `text` can match (with `^`/`$` at line
   * boundaries, any match of a line is also a match of the text), so the file is skipped without
   * splitting it into lines.
   */
  mayMatch(text: string): boolean;
}

/**
 * Compiles a user pattern; a DaguError `bad_request` when it is too long or not valid RE2. The
 * RE2 engine is loaded on the first search, so a server that never searches does not carry it.
 */
export async function compileSearchPattern(pattern: string): Promise<CompiledSearch> {
  if (pattern.length === 0) throw new DaguError('bad_request', 'the search pattern is empty');
  if (pattern.length > MAX_SEARCH_PATTERN_LENGTH)
    throw new DaguError(
      'bad_request',
      `the search pattern is longer than ${MAX_SEARCH_PATTERN_LENGTH} characters`,
    );
  const { RE2JS } = await import('re2js');
  let compiled: RE2JS;
  let wholeText: RE2JS;
  try {
    compiled = RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
    wholeText = RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE | RE2JS.MULTILINE);
  } catch (error) {
    throw new DaguError(
      'bad_request',
      `invalid search pattern: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return { test: (line) => compiled.test(line), mayMatch: (text) => wholeText.test(text) };
}

/**
 * Every matching line of `text` with its 1-based number and a snippet of up to 5 lines (2
 * before, the line, 2 after) starting at `startLine`.
 */
export function searchText(
  fileName: string,
  text: string,
  search: CompiledSearch,
): DagSearchMatch | undefined {
  if (!search.mayMatch(text)) return undefined;
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const matches: DagSearchMatch['matches'] = [];
  lines.forEach((lineText, index) => {
    if (!search.test(lineText)) return;
    const first = Math.max(0, index - SNIPPET_CONTEXT);
    matches.push({
      line: index + 1,
      lineText,
      startLine: first + 1,
      snippet: lines.slice(first, index + SNIPPET_CONTEXT + 1).join('\n'),
    });
  });
  return matches.length > 0 ? { fileName, matches } : undefined;
}
