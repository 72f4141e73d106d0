// The action syntax curation insists on: a turn that ends with "Action: search[q]" or "Action: finish[a]".
// Stricter on purpose than the agent's lenient parser (lib/agent/actions.ts), which accepts any
// case and trailing text so an episode can go on: a training example should show the exact form.

export interface CanonicalAction {
  verb: 'search' | 'finish';
  argument: string;
}

const ACTION_TAIL = /^\s*(search|finish)\[([\s\S]*)\]\s*$/;

/**
 * The action that ends the turn, or null. The last "Action:" wins, because reflexion turns and forced
 * finishes can repeat the action line; the argument must be non-empty.
 */
export function parseCanonicalAction(content: string): CanonicalAction | null {
  for (let at = content.lastIndexOf('Action:'); at >= 0; at = at === 0 ? -1 : content.lastIndexOf('Action:', at - 1)) {
    const m = ACTION_TAIL.exec(content.slice(at + 'Action:'.length));
    if (m) return m[2].trim() === '' ? null : { verb: m[1] as CanonicalAction['verb'], argument: m[2] };
  }
  return null;
}
