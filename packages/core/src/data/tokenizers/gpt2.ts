import { checkTokenIds, type Tokenizer } from './tokenizer.js';

/** GPT-2's end-of-text token, also used as the document separator. */
export const GPT2_EOS_ID = 50256;

type R50kModule = typeof import('gpt-tokenizer/encoding/r50k_base');

/**
 * The GPT-2 byte-level BPE (OpenAI's r50k_base ranks, 50257 ids), served offline by the
 * `gpt-tokenizer` package. Create it with `await Gpt2Tokenizer.load()`: the ranks (a few MB) are
 * imported only then, so programs that never use GPT-2 do not pay for them.
 */
export class Gpt2Tokenizer implements Tokenizer {
  readonly name = 'gpt2';
  readonly vocabSize = 50257;
  readonly eosId = GPT2_EOS_ID;
  /** GPT-2 has no separate BOS; <|endoftext|> plays both roles. */
  readonly bosId = GPT2_EOS_ID;

  private constructor(private readonly bpe: R50kModule) {}

  static async load(): Promise<Gpt2Tokenizer> {
    return new Gpt2Tokenizer(await import('gpt-tokenizer/encoding/r50k_base'));
  }

  /** Text that happens to contain "<|endoftext|>" is encoded as plain text, never as the special id. */
  encode(text: string): number[] {
    return this.bpe.encode(text, { disallowedSpecial: new Set() });
  }

  decode(ids: ArrayLike<number>): string {
    checkTokenIds(ids, this.vocabSize, this.name);
    return this.bpe.decode(Array.from(ids));
  }
}
