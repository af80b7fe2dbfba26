/**
 * What distinguishes the decoder families served by the one decoder in ./llama: their names in
 * transformers, their config defaults, which projections carry a bias (fixed by the architecture,
 * or read from `attention_bias` / `mlp_bias`), and which family-only fields they read or refuse.
 */

type Raw = Readonly<Record<string, unknown>>;

export type DecoderModelType = 'llama' | 'mistral' | 'qwen2';

/** Which linear layers have a bias. */
export interface ProjectionBiases {
  qkv: boolean;
  output: boolean;
  mlp: boolean;
}

export interface DecoderFamily {
  modelType: DecoderModelType;
  /** The transformers class name written to `architectures`. */
  architecture: string;
  /** transformers' defaults for the fields a config may leave out. */
  defaults: {
    max_position_embeddings: number;
    rms_norm_eps: number;
    rope_theta: number;
    /** undefined: as many as num_attention_heads. */
    num_key_value_heads?: number;
  };
  /**
   * Biases fixed by the architecture; undefined when the config chooses them (`attention_bias`,
   * `mlp_bias`, which a family with fixed biases does not have).
   */
  fixedBiases?: ProjectionBiases;
  /**
   * Reads the family's own fields from a raw config; pushes a description of each setting it does
   * not implement onto `unsupported`.
   */
  readOwnFields(raw: Raw, unsupported: string[]): { sliding_window?: number | null };
}
