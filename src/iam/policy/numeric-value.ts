// Numbers for the Numeric* operators: integers and decimals, written plainly (no exponents, no hex).
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

export function parseNumber(text: string): number | undefined {
  return DECIMAL.test(text) ? Number(text) : undefined;
}
