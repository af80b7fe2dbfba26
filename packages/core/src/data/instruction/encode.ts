/**
 * An instruction example as token ids and labels, with the loss on the response only: every
 * prompt token's label is -100 (transformers' ignore index), every response token's label is the
 * token itself (the model shifts labels by one when scoring).
 *
 * Chat examples go through the chat template: for each assistant turn, the conversation before it
 * rendered with the generation prompt is the masked part, and the rest of the conversation through
 * that turn is trained. The pieces are tokenized one after another (special tokens written by the
 * template are recognised), which needs a template that renders each conversation as a prefix of
 * its continuation; a template that does not is reported. Prompt-completion examples are
 * [BOS if the tokenizer adds it] + prompt + completion + EOS, so the model learns to stop.
 */
import { IGNORE_INDEX } from '../../models/llama/loss.js';
import type { ChatMessage, RenderOptions } from '../chat/template.js';
import type { InstructionExample } from './records.js';

/** What encoding needs of a tokenizer (HuggingFaceTokenizer has it all; byte/gpt2 lack chat). */
export interface InstructionTokenizer {
  readonly bosId?: number;
  readonly eosId?: number;
  readonly addsBos?: boolean;
  encode(text: string): number[];
  applyChatTemplate?(messages: readonly ChatMessage[], options?: RenderOptions): string;
}

export interface EncodedExample {
  ids: number[];
  /** Same length as ids; IGNORE_INDEX where no loss is taken. */
  labels: number[];
}

export function encodeExample(example: InstructionExample, tokenizer: InstructionTokenizer): EncodedExample {
  const out: EncodedExample = { ids: [], labels: [] };
  const append = (ids: readonly number[], trained: boolean) => {
    for (const id of ids) {
      out.ids.push(id);
      out.labels.push(trained ? id : IGNORE_INDEX);
    }
  };
  const bos = tokenizer.addsBos && tokenizer.bosId !== undefined ? [tokenizer.bosId] : [];
  const eos = tokenizer.eosId !== undefined ? [tokenizer.eosId] : [];
  switch (example.kind) {
    case 'text':
      append(bos, false);
      append([...tokenizer.encode(example.text), ...eos], true);
      return out;
    case 'prompt-completion':
      append([...bos, ...tokenizer.encode(example.prompt)], false);
      append([...tokenizer.encode(example.completion), ...eos], true);
      return out;
    case 'chat':
      encodeChat(example.messages, tokenizer, append);
      return out;
  }
}

function encodeChat(
  messages: readonly ChatMessage[],
  tokenizer: InstructionTokenizer,
  append: (ids: readonly number[], trained: boolean) => void,
): void {
  const render = tokenizer.applyChatTemplate?.bind(tokenizer);
  if (!render) throw new Error('chat data needs a tokenizer with a chat template (a Hugging Face tokenizer folder)');
  let done = '';
  const take = (text: string, trained: boolean) => {
    if (!text.startsWith(done)) {
      throw new Error(
        'the chat template does not render a conversation as a prefix of its continuation, so prompt tokens cannot be told from response tokens',
      );
    }
    append(tokenizer.encode(text.slice(done.length)), trained);
    done = text;
  };
  messages.forEach((message, i) => {
    if (message.role !== 'assistant') return;
    take(render(messages.slice(0, i), { addGenerationPrompt: true }), false);
    take(render(messages.slice(0, i + 1)), true);
  });
  take(render(messages), false);
}
