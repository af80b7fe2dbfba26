import { checkTokenIds, type Tokenizer } from './tokenizer.js';

/**
 * UTF-8 bytes as tokens: ids 0-255 are the byte values, 256 is BOS and 257 is EOS (vocabSize 258).
 * With `specialTokens: false` the vocabulary is the 256 bytes alone and there is no BOS/EOS.
 * Decoding skips the special ids and replaces invalid UTF-8 with U+FFFD.
 */
export class ByteTokenizer implements Tokenizer {
  static readonly BOS_ID = 256;
  static readonly EOS_ID = 257;

  readonly name = 'byte';
  readonly vocabSize: number;
  readonly bosId?: number;
  readonly eosId?: number;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder('utf-8');

  constructor(options: { specialTokens?: boolean } = {}) {
    const special = options.specialTokens ?? true;
    this.vocabSize = special ? 258 : 256;
    if (special) {
      this.bosId = ByteTokenizer.BOS_ID;
      this.eosId = ByteTokenizer.EOS_ID;
    }
  }

  encode(text: string): number[] {
    return Array.from(this.encoder.encode(text));
  }

  decode(ids: ArrayLike<number>): string {
    checkTokenIds(ids, this.vocabSize, this.name);
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (id < 256) bytes.push(id);
    }
    return this.decoder.decode(Uint8Array.from(bytes));
  }
}
