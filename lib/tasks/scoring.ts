// Answer scoring shared by the tasks: the SQuAD/HotpotQA normalisation, exact match, token F1,
// and the answer extractors for yes/no and multiple-choice tasks. Pure (no I/O).

/** ASCII punctuation, as Python's string.punctuation (the official scripts strip only these). */
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

// Python's `\b` is Unicode-aware and JS's is ASCII-only, so word boundaries are spelled out with
// Unicode letters/digits; otherwise "éthe" would lose its "the" here but not in Python.
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

// The characters Python's str.split() treats as whitespace (JS's \s differs: it has U+FEFF and
// lacks U+001C..U+001F and U+0085).
const WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

function removePunctuation(s: string): string {
  let out = '';
  for (const ch of s) if (!PUNCTUATION.has(ch)) out += ch;
  return out;
}

function tokens(s: string): string[] {
  return s.split(WHITESPACE).filter((t) => t.length > 0);
}

/** Lower-case, drop punctuation, drop the articles a/an/the, squeeze whitespace. */
export function normalizeAnswer(s: string): string {
  return tokens(removePunctuation(s.toLowerCase()).replace(ARTICLES, ' ')).join(' ');
}

export function exactMatch(prediction: string, gold: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(gold) ? 1 : 0;
}

const SPECIAL_ANSWERS = new Set(['yes', 'no', 'noanswer']);

/** Token F1 over normalised answers; a yes/no/noanswer on either side must match exactly (HotpotQA's rule). */
export function f1Score(prediction: string, gold: string): number {
  const p = normalizeAnswer(prediction);
  const g = normalizeAnswer(gold);
  if ((SPECIAL_ANSWERS.has(p) || SPECIAL_ANSWERS.has(g)) && p !== g) return 0;
  const pt = tokens(p);
  const gt = tokens(g);
  const goldCounts = new Map<string, number>();
  for (const t of gt) goldCounts.set(t, (goldCounts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of pt) {
    const left = goldCounts.get(t) ?? 0;
    if (left > 0) {
      same += 1;
      goldCounts.set(t, left - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / pt.length;
  const recall = same / gt.length;
  return (2 * precision * recall) / (precision + recall);
}

/** EM and F1, each the best over the gold answers; zeros for no prediction or no gold. */
export function qaScores(prediction: string | null, answers: readonly string[]): { em: number; f1: number } {
  let em = 0;
  let f1 = 0;
  if (prediction === null) return { em, f1 };
  for (const gold of answers) {
    em = Math.max(em, exactMatch(prediction, gold));
    f1 = Math.max(f1, f1Score(prediction, gold));
  }
  return { em, f1 };
}

/** The score of an open-answer QA task (HotpotQA, Bamboogle): EM under both rules, F1 beside it; FireAct scored both with this very normalisation. */
export function scoreQa(prediction: string | null, answers: readonly string[]): { score: number; metrics: { em: number; f1: number } } {
  const { em, f1 } = qaScores(prediction, answers);
  return { score: em, metrics: { em, f1 } };
}

/**
 * The yes/no a prediction commits to: its first normalised token when that is yes/no (or
 * true/false); otherwise the one of yes/no it mentions, if it mentions exactly one. Null if neither.
 */
export function extractYesNo(prediction: string): 'yes' | 'no' | null {
  const toks = tokens(normalizeAnswer(prediction));
  const first = toks[0];
  if (first === 'yes' || first === 'true') return 'yes';
  if (first === 'no' || first === 'false') return 'no';
  const hasYes = toks.includes('yes');
  const hasNo = toks.includes('no');
  if (hasYes !== hasNo) return hasYes ? 'yes' : 'no';
  return null;
}

const CHOICE_LETTERS = 'ABCD';

/**
 * The option letter a multiple-choice prediction names: "D", "d", "D.", "(D)", "D)", "D: ...",
 * "D. text", or "answer is (D)". A bare letter followed by a space ("A bird") is read as text,
 * not as a letter, since option texts often start with "A ". Null when no letter is named.
 */
export function extractChoiceLetter(prediction: string): string | null {
  const p = prediction.trim();
  if (p.length === 1 && CHOICE_LETTERS.includes(p.toUpperCase())) return p.toUpperCase();
  const lead = /^(?:\(([A-Da-d])\)|([A-D])[.:)\]])(?:\s|$)/.exec(p);
  if (lead) return (lead[1] ?? lead[2]).toUpperCase();
  const stated = /\b[Aa]nswer(?:\s+is)?\s*:?\s*\(?([A-D])\)?(?:[.\s]|$)/.exec(p);
  if (stated) return stated[1];
  return null;
}

// FireAct's own checks (tasks/strategyqa.py and tasks/mmlu.py in the authors' code), kept literal:
// Python's str.lower() then str.startswith, with no trimming, so " yes" fails and "no way" passes.

/** StrategyQA, FireAct's rule: `pred.lower().startswith('yes')` with gold true, or `'no'` with gold false. */
export function fireactYesNo(prediction: string, goldIsYes: boolean): number {
  return prediction.toLowerCase().startsWith(goldIsYes ? 'yes' : 'no') ? 1 : 0;
}

/** MMLU, FireAct's rule: `pred.lower().startswith(gold_letter.lower())`. */
export function fireactChoice(prediction: string, goldLetter: string): number {
  return prediction.toLowerCase().startsWith(goldLetter.toLowerCase()) ? 1 : 0;
}
