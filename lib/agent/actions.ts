// Reading a model's reply: the Thought / Action text format shared by the teacher, the students and the recordings.

export type ActionType = 'search' | 'finish';

export interface Action {
  type: ActionType;
  /** The query or the answer, trimmed. */
  arg: string;
}

export interface ParsedOutput {
  thought?: string;
  action: Action;
}

// `Action:` anywhere (recorded teacher turns sometimes put it mid-line), optionally numbered as in "Action 2:".
const ACTION_START = /\bAction(?:\s*\d+)?\s*:\s*(search|finish)\s*\[/gi;
const THOUGHT_LABEL = /^\s*Thought(?:\s*\d+)?\s*:\s*/i;

/**
 * Finds the reply's action: the last `Action: search[...]` or `Action: finish[...]` whose bracket closes.
 * The argument runs to the last `]` on the action's line (answers may hold brackets), or, when that line has
 * none, to the last `]` of the text (a multi-line answer). Returns null when no action parses.
 */
export function parseAction(text: string): ParsedOutput | null {
  const starts = [...text.matchAll(ACTION_START)];
  for (let i = starts.length - 1; i >= 0; i--) {
    const m = starts[i];
    const open = (m.index ?? 0) + m[0].length;
    const rest = text.slice(open);
    const lineEnd = rest.indexOf('\n');
    let close = (lineEnd < 0 ? rest : rest.slice(0, lineEnd)).lastIndexOf(']');
    if (close < 0) close = rest.lastIndexOf(']');
    if (close < 0) continue;
    const arg = rest.slice(0, close).trim();
    // An empty query or answer is no action: re-asking does better than scoring "".
    if (!arg) continue;
    const thought = text.slice(0, m.index).replace(THOUGHT_LABEL, '').trim();
    return { ...(thought ? { thought } : {}), action: { type: m[1].toLowerCase() as ActionType, arg } };
  }
  return null;
}

/**
 * What is kept of a reply: everything before a hallucinated `\nObservation` line (the model writing the tool's
 * part), with trailing whitespace dropped. Nothing else changes, so a replayed recording stays byte-identical.
 */
export function cleanOutput(text: string): string {
  const cut = text.indexOf('\nObservation');
  return (cut < 0 ? text : text.slice(0, cut)).trimEnd();
}
