/**
 * RoPE scaling as transformers configures it, read from either spelling:
 * - transformers 4: `rope_theta` plus `rope_scaling: {rope_type (or type), factor, ...}` (or null);
 * - transformers 5: `rope_parameters: {rope_type, rope_theta, factor, ...}`.
 * Both are normalised to `rope_theta` + `rope_scaling` (null for plain RoPE), the spelling written
 * back, which transformers 5 still reads. Types whose frequencies we compute exactly are
 * implemented; the others are refused by name rather than approximated.
 */

export type RopeScaling =
  | { rope_type: 'linear'; factor: number }
  | {
      rope_type: 'llama3';
      factor: number;
      low_freq_factor: number;
      high_freq_factor: number;
      original_max_position_embeddings: number;
    };

export interface RopeSettings {
  rope_theta: number;
  rope_scaling: RopeScaling | null;
}

/** Why each known but unimplemented type is refused. */
const REFUSED_TYPES: Readonly<Record<string, string>> = {
  dynamic: 'its frequencies change with the running sequence length (stateful in transformers)',
  yarn: 'its ramp and attention factor differ between transformers versions',
  longrope: 'not implemented',
  su: 'not implemented',
  ntk: 'not implemented',
};

type Raw = Readonly<Record<string, unknown>>;

/** Reads the RoPE settings of a raw config.json object; `defaultTheta` is the family's default. */
export function readRopeSettings(raw: Raw, defaultTheta: number, where: string): RopeSettings {
  const v5 = raw.rope_parameters;
  if (v5 !== undefined && v5 !== null) {
    if (!isObject(v5)) throw new Error(`${where}: rope_parameters must be an object, got ${JSON.stringify(v5)}`);
    if (!('rope_type' in v5) && Object.values(v5).some(isObject)) {
      throw new Error(
        `${where}: unsupported setting(s): rope_parameters per layer type (${Object.keys(v5).join(', ')})`,
      );
    }
    const theta = v5.rope_theta ?? raw.rope_theta ?? defaultTheta;
    return { rope_theta: theta as number, rope_scaling: ropeScaling(v5, 'rope_parameters', where) };
  }
  const v4 = raw.rope_scaling;
  const theta = (raw.rope_theta ?? defaultTheta) as number;
  if (v4 === undefined || v4 === null) return { rope_theta: theta, rope_scaling: null };
  if (!isObject(v4)) throw new Error(`${where}: rope_scaling must be an object or null, got ${JSON.stringify(v4)}`);
  return { rope_theta: theta, rope_scaling: ropeScaling(v4, 'rope_scaling', where) };
}

function ropeScaling(spec: Raw, field: string, where: string): RopeScaling | null {
  // transformers 4.4x wrote `type`; later versions `rope_type`.
  const type = spec.rope_type ?? spec.type ?? 'default';
  const number = (key: string, fallback?: number): number => {
    const v = spec[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new Error(`${where}: ${field}.${key} must be a positive number, got ${JSON.stringify(spec[key])}`);
    }
    return v;
  };
  if (type === 'default') return null;
  if (type === 'linear') return { rope_type: 'linear', factor: number('factor') };
  if (type === 'llama3') {
    const scaling: RopeScaling = {
      rope_type: 'llama3',
      factor: number('factor'),
      low_freq_factor: number('low_freq_factor'),
      high_freq_factor: number('high_freq_factor'),
      original_max_position_embeddings: number('original_max_position_embeddings'),
    };
    if (scaling.high_freq_factor <= scaling.low_freq_factor) {
      throw new Error(
        `${where}: ${field}.high_freq_factor (${scaling.high_freq_factor}) must exceed low_freq_factor (${scaling.low_freq_factor})`,
      );
    }
    return scaling;
  }
  const why = REFUSED_TYPES[String(type)] ?? 'unknown type';
  throw new Error(
    `${where}: unsupported setting(s): ${field}.rope_type ${JSON.stringify(type)} (${why}); supported: default, linear, llama3`,
  );
}

/**
 * inv_freq[i] for i < headDim / 2, in float64: 1 / theta^(2i / headDim), then scaled.
 * linear divides every frequency by `factor`. llama3 (Llama 3.1) keeps high frequencies (wavelength
 * below original_context / high_freq_factor), divides low ones (wavelength above
 * original_context / low_freq_factor) by `factor`, and blends linearly between, with
 * smooth = (original_context / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor).
 */
export function inverseFrequencies(headDim: number, settings: RopeSettings): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / settings.rope_theta ** ((2 * i) / headDim);
  const scaling = settings.rope_scaling;
  if (scaling === null) return inv;
  if (scaling.rope_type === 'linear') return inv.map((f) => f / scaling.factor);
  const { factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: context } = scaling;
  const lowFreqWavelength = context / low;
  const highFreqWavelength = context / high;
  return inv.map((f) => {
    const wavelength = (2 * Math.PI) / f;
    if (wavelength < highFreqWavelength) return f;
    if (wavelength > lowFreqWavelength) return f / factor;
    const smooth = (context / wavelength - low) / (high - low);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
