/** `Name: message` for an error (just the message for a plain `Error`), or the value as text. */
export function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
}
