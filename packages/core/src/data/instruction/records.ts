/**
 * Instruction-tuning records as people have them, one JSON object per JSONL line, normalised to
 * what the encoder needs:
 * - chat: `{messages: [{role, content}, ...]}`, rendered by the model's chat template;
 * - prompt-completion: `{prompt, completion}`;
 * - alpaca: `{instruction, input?, output}`, written into Alpaca's own prompt (Taori et al. 2023);
 * - text: `{<textField>: string}` (default field `text`), trained on every token.
 */
import type { ChatMessage } from '../chat/template.js';

export const INSTRUCTION_FORMATS = ['chat', 'prompt-completion', 'alpaca', 'text'] as const;
export type InstructionFormat = (typeof INSTRUCTION_FORMATS)[number];

export type InstructionExample =
  | { kind: 'chat'; messages: ChatMessage[] }
  | { kind: 'prompt-completion'; prompt: string; completion: string }
  | { kind: 'text'; text: string };

export interface RecordOptions {
  /** Field of a `text` record (default 'text'). */
  textField?: string;
}

const ALPACA_WITH_INPUT =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n';
const ALPACA_WITHOUT_INPUT =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Response:\n';

export function isInstructionFormat(name: string): name is InstructionFormat {
  return (INSTRUCTION_FORMATS as readonly string[]).includes(name);
}

/** One parsed JSONL record as an example of `format`; `where` names the line in errors. */
export function readRecord(
  record: unknown,
  format: InstructionFormat,
  where: string,
  options: RecordOptions = {},
): InstructionExample {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new TypeError(`${where}: expected a JSON object, got ${JSON.stringify(record)}`);
  }
  const r = record as Record<string, unknown>;
  const text = (key: string, optional = false): string => {
    const v = r[key];
    if (typeof v === 'string') return v;
    if (optional && (v === undefined || v === null)) return '';
    throw new TypeError(`${where}: the ${format} format needs a string field "${key}", got ${JSON.stringify(v)}`);
  };
  switch (format) {
    case 'chat':
      return { kind: 'chat', messages: readMessages(r.messages, where) };
    case 'prompt-completion':
      return { kind: 'prompt-completion', prompt: text('prompt'), completion: text('completion') };
    case 'alpaca': {
      const input = text('input', true);
      const template = input ? ALPACA_WITH_INPUT : ALPACA_WITHOUT_INPUT;
      const prompt = template.replace('{instruction}', text('instruction')).replace('{input}', input);
      return { kind: 'prompt-completion', prompt, completion: text('output') };
    }
    case 'text':
      return { kind: 'text', text: text(options.textField ?? 'text') };
  }
}

function readMessages(value: unknown, where: string): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(`${where}: the chat format needs "messages", a non-empty list of {role, content}`);
  }
  return value.map((m, i) => {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || typeof content !== 'string') {
      throw new TypeError(`${where}: messages[${i}] must be {role: string, content: string}, got ${JSON.stringify(m)}`);
    }
    return { role, content };
  });
}
