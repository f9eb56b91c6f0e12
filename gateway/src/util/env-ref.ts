// How a config names an environment variable: `${NAME}`, or `${NAME:-default}` for the value to use when it is
// unset. One pattern for every reader of configs (substitution, placeholders, redaction, the field commands).
const NAME = '[A-Za-z_][A-Za-z0-9_]*';
const WHOLE = new RegExp(`^\\$\\{(${NAME})(:-[^}]*)?\\}$`);

/** Every reference in a text: group 1 the name, group 2 the default (undefined when none). A new regex each call: a global one keeps its position. */
export function envRefs(): RegExp {
  return new RegExp(`\\$\\{(${NAME})(?::-([^}]*))?\\}`, 'g');
}

/** The variable a value names when it is one reference and nothing else; `bare`: only without a default. */
export function envReference(value: unknown, o: { bare?: boolean } = {}): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = WHOLE.exec(value);
  return m && !(o.bare && m[2] !== undefined) ? m[1] : undefined;
}
