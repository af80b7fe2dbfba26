/**
 * Fine-tune a Hugging Face decoder (Llama, Mistral, Qwen2 folder) on chat data with GaLore AdamW and
 * a response-only loss: each conversation is rendered by the folder's chat template, and only the
 * assistant's tokens are scored (labels -100 on the prompt and padding). Then answer a prompt with
 * `generate`, which decodes over the KV cache.
 *
 *   MODEL=path/to/hf-folder DATA=chats.jsonl npx tsx examples/chat-finetune.ts
 *   MODEL=... DATA=... STEPS=300 RANK=64 PROMPT="What is GaLore?" npx tsx examples/chat-finetune.ts
 *
 * The folder needs config.json, model.safetensors, tokenizer.json and a tokenizer_config.json with
 * a chat_template. DATA is JSONL, one `{"messages": [{"role": "user", "content": ...},
 * {"role": "assistant", "content": ...}]}` per line. Environment: STEPS (100), BATCH (8), MAXLEN
 * (128), LR (1e-2), RANK (hidden / 4), GAP (update_proj_gap, 50), SCALE (0.25), PROMPT (default the
 * first user message of DATA), NEW_TOKENS (32).
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import {
  AutoModelForCausalLM,
  evaluate,
  generate,
  HuggingFaceTokenizer,
  InstructionDataset,
  manualSeed,
  nextTokenLoss,
} from '@galore-ts/core';
import { createOptimizer } from '@galore-ts/galore';

export interface ChatFinetuneOptions {
  /** A Hugging Face folder with a tokenizer and a chat template. */
  model: string;
  /** Chat JSONL: `{"messages": [{role, content}, ...]}` per line. */
  data: string;
  steps?: number;
  batchSize?: number;
  /** Longest conversation in tokens; longer ones are cut. */
  maxLength?: number;
  lr?: number;
  rank?: number;
  updateProjGap?: number;
  scale?: number;
  /** The user message to answer after training (default the data's first user message). */
  prompt?: string;
  maxNewTokens?: number;
  log?: (line: string) => void;
}

export interface ChatFinetuneResult {
  /** Response-only loss over the whole data set, before and after training (nats per token). */
  initialLoss: number;
  finalLoss: number;
  /** Loss of each training batch. */
  losses: number[];
  /** Weights GaLore projected. */
  projected: string[];
  prompt: string;
  /** The new tokens (without the prompt or the end-of-turn token) and their text. */
  tokens: number[];
  answer: string;
}

export async function chatFinetune(options: ChatFinetuneOptions): Promise<ChatFinetuneResult> {
  const log = options.log ?? console.log;
  manualSeed(0);
  const model = await AutoModelForCausalLM.fromPretrained(options.model);
  const tok = await HuggingFaceTokenizer.load(options.model);
  const data = await InstructionDataset.fromFile(options.data, tok, {
    format: 'chat',
    batchSize: options.batchSize ?? 8,
    maxLength: options.maxLength ?? 128,
    epochs: Number.POSITIVE_INFINITY, // cycle, reshuffled each epoch
    seed: 0,
  });
  log(`${model.config.model_type}: ${data.size} conversations (${data.skipped} skipped)`);
  const { optimizer, projected } = createOptimizer('galore_adamw', model.namedParameters(), {
    lr: options.lr ?? 1e-2,
    weightDecay: 0,
    rank: options.rank ?? Math.max(1, model.config.hidden_size / 4),
    updateProjGap: options.updateProjGap ?? 50,
    scale: options.scale ?? 0.25,
  });
  try {
    const initialLoss = (await evaluate(model, data.batches())).loss;
    const steps = options.steps ?? 100;
    const losses: number[] = [];
    for (let step = 1; step <= steps; step++) {
      // labels are -100 outside the assistant's turns, so only the responses are scored.
      const loss = nextTokenLoss(model, (await data.nextBatch())!);
      losses.push(await loss.item());
      loss.backward();
      loss.dispose();
      optimizer.step();
      optimizer.zeroGrad();
      if (step % 10 === 0 || step === steps) log(`step ${step}  response loss ${losses.at(-1)!.toFixed(3)}`);
    }
    const finalLoss = (await evaluate(model, data.batches())).loss;
    log(`response loss ${initialLoss.toFixed(3)} -> ${finalLoss.toFixed(3)}`);

    const prompt = options.prompt ?? (await firstUserMessage(options.data));
    const ids = tok.encode(tok.applyChatTemplate([{ role: 'user', content: prompt }], { addGenerationPrompt: true }));
    const { tokens } = await generate(model, ids, {
      maxNewTokens: options.maxNewTokens ?? 32,
      stopTokens: tok.eosId === undefined ? [] : [tok.eosId],
    });
    const answer = tok.decode(tokens);
    log(`user: ${prompt}\nassistant: ${answer}`);
    return { initialLoss, finalLoss, losses, projected, prompt, tokens, answer };
  } finally {
    optimizer.dispose?.();
    model.dispose();
  }
}

async function firstUserMessage(path: string): Promise<string> {
  const line = (await readFile(path, 'utf8')).split('\n').find((l) => l.trim() !== '');
  const messages = (JSON.parse(line ?? '{}') as { messages?: { role: string; content: string }[] }).messages ?? [];
  const user = messages.find((m) => m.role === 'user');
  if (!user) throw new Error(`${path}: the first record has no user message; pass a prompt`);
  return user.content;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const number = (name: string) => (process.env[name] === undefined ? undefined : Number(process.env[name]));
  const { MODEL, DATA } = process.env;
  if (!MODEL || !DATA) throw new Error('set MODEL (a Hugging Face folder with a chat template) and DATA (chat JSONL)');
  await chatFinetune({
    model: MODEL,
    data: DATA,
    steps: number('STEPS'),
    batchSize: number('BATCH'),
    maxLength: number('MAXLEN'),
    lr: number('LR'),
    rank: number('RANK'),
    updateProjGap: number('GAP'),
    scale: number('SCALE'),
    prompt: process.env.PROMPT,
    maxNewTokens: number('NEW_TOKENS'),
  });
}
