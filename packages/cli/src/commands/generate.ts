/**
 * `galore-ts generate`: continues a prompt (or answers it through the model's chat template) with a
 * checkpoint, sampling token by token over a KV cache.
 */

import {
  generate,
  HuggingFaceTokenizer,
  type LlamaForCausalLM,
  loadTokenizer,
  type Tokenizer,
  Xoshiro128,
} from '@galore-ts/core';
import { Command, Option } from 'commander';
import type { CliIO } from '../io.js';
import { fraction, nonNegativeInteger, nonNegativeNumber, positiveInteger } from '../parse.js';
import { checkSamplingOptions, type SamplingOptions, sampleToken } from '../sampling.js';
import { BACKEND_NAMES, selectBackend } from '../setup/backend.js';
import { loadTrainedModel } from '../setup/method.js';
import { checkTokenizerFits, chooseTokenizer } from '../setup/tokenizer.js';
import { resolveModelFolder, savedSettings } from './saved-settings.js';

interface GenerateFlags {
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  tokenizer?: string;
  ignoreEos?: boolean;
  chat?: boolean;
  backend: string;
  json?: boolean;
}

export interface GenerateReport {
  checkpoint: string;
  prompt: string;
  completion: string;
  new_tokens: number;
  seconds: number;
  tokens_per_s: number;
  prefill_tokens_per_s: number;
  decode_tokens_per_s: number;
}

export function generateCommand(io: CliIO): Command {
  return new Command('generate')
    .description('continue a prompt with a checkpoint (temperature, top-k and top-p sampling)')
    .argument(
      '<checkpoint>',
      'a checkpoint folder, a run folder (its latest checkpoint), or a Hugging Face model folder',
    )
    .option('--prompt <text>', 'the text to continue', '')
    .option('--max-new-tokens <n>', 'tokens to generate', positiveInteger, 200)
    .option('--temperature <x>', '0 is greedy', nonNegativeNumber, 0.8)
    .option('--top-k <n>', 'sample among the k most likely tokens; 0 disables', nonNegativeInteger, 40)
    .option('--top-p <p>', 'nucleus sampling threshold; 1 disables', fraction, 0.95)
    .option('--seed <n>', 'seed of the sampler', nonNegativeInteger, 0)
    .option('--tokenizer <byte|gpt2|path>', "tokenizer (default: the run's, else the model folder's tokenizer.json)")
    .option('--ignore-eos', 'keep going past the end-of-text token')
    .option('--chat', "send --prompt as a user message through the tokenizer's chat template")
    .addOption(new Option('--backend <name>', 'compute backend').choices([...BACKEND_NAMES]).default('cpu'))
    .option('--json', 'print the result as JSON')
    .action(async (checkpoint: string, flags: GenerateFlags) => {
      const report = await runGenerate(checkpoint, flags);
      io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${report.prompt}${report.completion}\n`);
      if (!flags.json) {
        io.stderr(
          `[${report.new_tokens} tokens in ${report.seconds.toFixed(1)} s, ${report.tokens_per_s.toFixed(1)} tokens/s; ` +
            `prefill ${report.prefill_tokens_per_s.toFixed(1)} tokens/s, decode ${report.decode_tokens_per_s.toFixed(1)} tokens/s]\n`,
        );
      }
    });
}

export async function runGenerate(checkpointPath: string, flags: GenerateFlags): Promise<GenerateReport> {
  const sampling: SamplingOptions = {
    temperature: flags.temperature,
    topK: flags.topK,
    topP: flags.topP === 0 ? 1 : flags.topP,
  };
  checkSamplingOptions(sampling);
  const checkpoint = await resolveModelFolder(checkpointPath);
  const saved = await savedSettings(checkpoint);
  const backend = await selectBackend(flags.backend);
  const tokenizer = await loadTokenizer(await chooseTokenizer(flags.tokenizer, saved.tokenizer, checkpoint));
  // The prompt first: a --chat without a chat template is refused before the model loads.
  const ids = flags.chat ? chatPromptIds(tokenizer, flags.prompt) : promptIds(tokenizer, flags.prompt);
  const { model } = await loadTrainedModel(checkpoint, backend, saved);
  try {
    checkTokenizerFits(tokenizer, model.config, checkpoint);
    model.eval();
    const started = performance.now();
    const random = Xoshiro128.fromSeed(flags.seed);
    const result = await generate(model, ids, {
      maxNewTokens: flags.maxNewTokens,
      pickToken: (logits) => sampleToken(logits, sampling, () => random.nextFloat()),
      stopTokens: flags.ignoreEos ? [] : stopTokens(tokenizer, model),
    });
    const seconds = (performance.now() - started) / 1000;
    return {
      checkpoint,
      prompt: flags.prompt,
      completion: tokenizer.decode(result.tokens),
      new_tokens: result.tokens.length,
      seconds,
      tokens_per_s: result.tokens.length / seconds,
      prefill_tokens_per_s: result.prefill.tokensPerSecond,
      decode_tokens_per_s: result.decode.tokensPerSecond,
    };
  } finally {
    model.dispose();
  }
}

/** The tokenizer's EOS and the model config's eos_token_id(s) (Llama 3 lists several). */
function stopTokens(tokenizer: Tokenizer, model: LlamaForCausalLM): number[] {
  const configured = model.config.eos_token_id;
  const fromConfig = Array.isArray(configured) ? configured : typeof configured === 'number' ? [configured] : [];
  return [...new Set([...(tokenizer.eosId === undefined ? [] : [tokenizer.eosId]), ...fromConfig])];
}

/** The prompt as one user turn of the chat template, ending with the assistant's header. */
function chatPromptIds(tokenizer: Tokenizer, prompt: string): number[] {
  if (!(tokenizer instanceof HuggingFaceTokenizer)) {
    throw new Error(`--chat needs a Hugging Face tokenizer folder with a chat template, not '${tokenizer.name}'`);
  }
  const text = tokenizer.applyChatTemplate([{ role: 'user', content: prompt }], { addGenerationPrompt: true });
  return tokenizer.encode(text);
}

/** The prompt's ids; an empty prompt starts a new document (after EOS, as the data is packed). */
function promptIds(tokenizer: Tokenizer, prompt: string): number[] {
  const ids = tokenizer.encode(prompt);
  if (ids.length > 0) return ids;
  const start = tokenizer.eosId ?? tokenizer.bosId;
  if (start === undefined)
    throw new Error(`--prompt is empty and the tokenizer '${tokenizer.name}' has no BOS/EOS token to start from`);
  return [start];
}
