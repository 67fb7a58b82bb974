/**
 * Attribute names repeat on every entry of a search: a function of a name
 * (its lower-cased form, say) is worth computing once per name, not once
 * per entry. Bounded, as names come from servers.
 */
const MAX_NAMES = 1000;

export function perName(compute: (name: string) => string): (name: string) => string {
  const known = new Map<string, string>();
  return (name) => {
    let value = known.get(name);
    if (value === undefined) {
      value = compute(name);
      if (known.size < MAX_NAMES) known.set(name, value);
    }
    return value;
  };
}
