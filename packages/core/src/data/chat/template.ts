/**
 * A model's chat template (Jinja, from its tokenizer_config.json or chat_template.jinja) rendered
 * with @huggingface/jinja, the implementation transformers.js uses, with the variables transformers'
 * apply_chat_template passes: messages, add_generation_prompt and the special tokens as text.
 * The package is imported only when a template is compiled.
 */

export interface ChatMessage {
  role: string;
  content: string;
}

export interface RenderOptions {
  /** Append the header that opens the assistant's turn (for generation, and for prompt masking). */
  addGenerationPrompt?: boolean;
}

type JinjaTemplate = import('@huggingface/jinja').Template;

export class ChatTemplate {
  private constructor(
    private readonly template: JinjaTemplate,
    readonly source: string,
    private readonly specialTokens: Readonly<Record<string, string | null>>,
  ) {}

  /** `specialTokens`: bos_token, eos_token, ... as their text, visible to the template. */
  static async compile(
    source: string,
    specialTokens: Readonly<Record<string, string | null>> = {},
  ): Promise<ChatTemplate> {
    const { Template } = await import('@huggingface/jinja');
    let template: JinjaTemplate;
    try {
      template = new Template(source);
    } catch (error) {
      throw new Error(`chat template does not parse: ${(error as Error).message}`);
    }
    return new ChatTemplate(template, source, specialTokens);
  }

  render(messages: readonly ChatMessage[], options: RenderOptions = {}): string {
    checkMessages(messages);
    return this.template.render({
      ...this.specialTokens,
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
    });
  }
}

function checkMessages(messages: readonly ChatMessage[]): void {
  if (!Array.isArray(messages) || messages.length === 0)
    throw new Error('chat template: expected a non-empty list of messages');
  for (const [i, m] of messages.entries()) {
    if (typeof m?.role !== 'string' || typeof m.content !== 'string') {
      throw new TypeError(
        `chat template: message ${i} must be {role: string, content: string}, got ${JSON.stringify(m)}`,
      );
    }
  }
}
