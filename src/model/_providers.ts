// Execution provider selection: try each requested provider in order and fall back to the next
// with a message that says what failed, so a node without CUDA says so instead of dying.

/** An ONNX Runtime execution provider Butterfly knows how to ask for. */
export type ExecutionProvider = "cuda" | "cpu";

/** The value created and the provider that created it. */
export interface ProviderChoice<T> {
  readonly value: T;
  readonly provider: ExecutionProvider;
  /** The fallback messages emitted on the way, empty when the first provider worked. */
  readonly fallbackMessages: readonly string[];
}

/** Tries `create` with each provider in turn; reports each failure but the last to `onFallback`. */
export async function createWithFallback<T>(
  providers: readonly ExecutionProvider[],
  create: (provider: ExecutionProvider) => Promise<T>,
  onFallback: (message: string) => void,
): Promise<ProviderChoice<T>> {
  if (providers.length === 0) throw new Error("At least one execution provider is needed");
  const fallbackMessages: string[] = [];
  for (let index = 0; index < providers.length; index++) {
    const provider = providers[index]!;
    try {
      return { value: await create(provider), provider, fallbackMessages };
    } catch (error) {
      const next = providers[index + 1];
      if (next === undefined) throw error;
      const reason = (error instanceof Error ? error.message : String(error)).split("\n")[0];
      const message =
        `Execution provider ${provider} is unavailable (${reason}); falling back to ${next}`;
      fallbackMessages.push(message);
      onFallback(message);
    }
  }
  throw new Error("Unreachable: the loop returns or throws");
}
