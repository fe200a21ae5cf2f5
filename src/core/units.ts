/**
 * Units and number formatting, the way pprof's internal/measurement does it, so our text output
 * matches `go tool pprof` character for character. Go's fmt rounds exact decimal ties to even
 * (1.125 → "1.12"); JavaScript's toFixed rounds them up, so the formatting is done here by hand.
 */

interface Unit {
  name: string;
  aliases: string[];
  factor: number;
}
interface UnitType {
  units: Unit[];
  defaultUnit: Unit;
}

const BYTES: UnitType = {
  units: [
    { name: 'B', aliases: ['b', 'byte'], factor: 1 },
    { name: 'kB', aliases: ['kb', 'kbyte', 'kilobyte'], factor: 2 ** 10 },
    { name: 'MB', aliases: ['mb', 'mbyte', 'megabyte'], factor: 2 ** 20 },
    { name: 'GB', aliases: ['gb', 'gbyte', 'gigabyte'], factor: 2 ** 30 },
    { name: 'TB', aliases: ['tb', 'tbyte', 'terabyte'], factor: 2 ** 40 },
    { name: 'PB', aliases: ['pb', 'pbyte', 'petabyte'], factor: 2 ** 50 },
  ],
  defaultUnit: { name: 'B', aliases: ['b', 'byte'], factor: 1 },
};
const TIME: UnitType = {
  units: [
    { name: 'ns', aliases: ['ns', 'nanosecond'], factor: 1 },
    { name: 'us', aliases: ['μs', 'us', 'microsecond'], factor: 1e3 },
    { name: 'ms', aliases: ['ms', 'millisecond'], factor: 1e6 },
    { name: 's', aliases: ['s', 'sec', 'second'], factor: 1e9 },
    { name: 'hrs', aliases: ['hour', 'hr'], factor: 3600e9 },
  ],
  defaultUnit: { name: 's', aliases: [], factor: 1e9 },
};
const GCU: UnitType = {
  units: [
    { name: 'n*GCU', aliases: ['nanogcu'], factor: 1e-9 },
    { name: 'u*GCU', aliases: ['microgcu'], factor: 1e-6 },
    { name: 'm*GCU', aliases: ['milligcu'], factor: 1e-3 },
    { name: 'GCU', aliases: ['gcu'], factor: 1 },
    { name: 'k*GCU', aliases: ['kilogcu'], factor: 1e3 },
    { name: 'M*GCU', aliases: ['megagcu'], factor: 1e6 },
    { name: 'G*GCU', aliases: ['gigagcu'], factor: 1e9 },
    { name: 'T*GCU', aliases: ['teragcu'], factor: 1e12 },
    { name: 'P*GCU', aliases: ['petagcu'], factor: 1e15 },
  ],
  defaultUnit: { name: 'GCU', aliases: [], factor: 1 },
};
const UNIT_TYPES = [BYTES, TIME, GCU];

const sniffCache = new Map<UnitType, Map<string, Unit | null>>();

function sniff(ut: UnitType, unit: string): Unit | undefined {
  // called for every printed value: remembered per unit name
  let cache = sniffCache.get(ut);
  if (!cache) sniffCache.set(ut, (cache = new Map()));
  const hit = cache.get(unit);
  if (hit !== undefined) return hit ?? undefined;
  let u = unit.toLowerCase();
  if (u.length > 2 && u.endsWith('s')) u = u.slice(0, -1);
  const found = ut.units.find((x) => x.aliases.includes(u));
  if (cache.size < 256) cache.set(unit, found ?? null);
  return found;
}

function autoScale(ut: UnitType, v: number): [number, string] | undefined {
  let f = 0;
  let name = '';
  for (const u of ut.units) {
    if (u.factor >= f && v / u.factor >= 1) {
      f = u.factor;
      name = u.name;
    }
  }
  return f === 0 ? undefined : [v / f, name];
}

/** measurement.Scale: value in fromUnit → [scaled value, unit name] for toUnit ('minimum'/'auto' pick). */
export function scaleValue(value: number, fromUnit: string, toUnit: string): [number, string] {
  if (value < 0) {
    const [v, u] = scaleValue(-value, fromUnit, toUnit);
    return [-v, u];
  }
  for (const ut of UNIT_TYPES) {
    const from = sniff(ut, fromUnit);
    if (!from) continue;
    const v = value * from.factor;
    if (toUnit === 'minimum' || toUnit === 'auto') {
      const a = autoScale(ut, v);
      if (a) return a;
      return [v / ut.defaultUnit.factor, ut.defaultUnit.name];
    }
    const to = sniff(ut, toUnit);
    if (!to) return [v / ut.defaultUnit.factor, ut.defaultUnit.name];
    return [v / to.factor, to.name];
  }
  switch (toUnit) {
    case 'count':
    case 'sample':
    case 'unit':
    case 'minimum':
    case 'auto':
      return [value, ''];
    default:
      return [value, toUnit];
  }
}

/** measurement.ScaledLabel: "%.2f" without a trailing ".00", plus the unit; zero is "0". */
export function scaledLabel(value: number, fromUnit: string, toUnit: string): string {
  const [v, u] = scaleValue(value, fromUnit, toUnit);
  let s = goFixed(v, 2);
  if (s.endsWith('.00')) s = s.slice(0, -3);
  if (s === '0' || s === '-0') return '0';
  return s + u;
}

/** measurement.Percentage */
export function percentage(value: number, total: number): string {
  let ratio = 0;
  if (total !== 0) ratio = Math.abs(value / total) * 100;
  if (ratio >= 99.95 && ratio <= 100.05) return '  100%';
  if (ratio >= 1.0) return padLeft(goFixed(ratio, 2), 5) + '%';
  return padLeft(goG(ratio, 2), 5) + '%';
}

export function padLeft(s: string, w: number): string {
  return s.length >= w ? s : ' '.repeat(w - s.length) + s;
}

/** The exact decimal digits of |x| (no leading zeros) and the decimal point position. */
function decimalDigits(x: number): { digits: string; dp: number } {
  // toExponential(60) is correctly rounded to 61 significant digits: ample to see exact ties.
  const s = Math.abs(x).toExponential(60);
  const [mant, exp] = s.split('e') as [string, string];
  const digits = mant.replace('.', '').replace(/0+$/, '');
  return { digits: digits === '' ? '0' : digits, dp: Number(exp) + 1 };
}

/** Rounds a digit string to nd digits, half to even on exact ties (strconv's rule). */
function roundDigits(d: { digits: string; dp: number }, nd: number): { digits: string; dp: number } {
  let { digits, dp } = d;
  if (nd < 0) return { digits: '0', dp: 0 };
  if (digits.length <= nd) return { digits, dp };
  if (nd === 0) {
    const first = digits.charCodeAt(0) - 48;
    const up0 = first > 5 || (first === 5 && digits.length > 1);
    return up0 ? { digits: '1', dp: dp + 1 } : { digits: '0', dp: 0 };
  }
  const next = digits.charCodeAt(nd) - 48;
  let up: boolean;
  if (next > 5) up = true;
  else if (next < 5) up = false;
  else if (digits.length > nd + 1) up = true;
  else up = nd > 0 && (digits.charCodeAt(nd - 1) - 48) % 2 === 1;
  let kept = digits.slice(0, nd);
  if (up) {
    const arr = kept.split('').map((c) => c.charCodeAt(0) - 48);
    let i = arr.length - 1;
    while (i >= 0) {
      if (arr[i]! < 9) {
        arr[i]!++;
        break;
      }
      arr[i] = 0;
      i--;
    }
    if (i < 0) {
      arr.unshift(1);
      dp++;
      arr.pop();
    }
    kept = arr.join('');
  }
  kept = kept.replace(/0+$/, '');
  return { digits: kept === '' ? '0' : kept, dp: kept === '' ? 0 : dp };
}

/** Go's fmt "%.{prec}f". */
export function goFixed(x: number, prec: number): string {
  if (!Number.isFinite(x)) return String(x);
  const neg = x < 0 || Object.is(x, -0);
  if (x === 0) return (neg ? '-' : '') + (prec > 0 ? '0.' + '0'.repeat(prec) : '0');
  // An exact tie at the last digit needs x × 2^(prec+1) to be an integer (x = odd / (2·10^prec)
  // in lowest terms); otherwise toFixed's rounding (nearest, exact) is Go's, without the garbage.
  if (Math.abs(x) < 1e21 && prec <= 20 && !Number.isInteger(x * 2 ** (prec + 1))) return x.toFixed(prec);
  const dd = decimalDigits(x);
  const d = roundDigits(dd, dd.dp + prec);
  // build integer and fraction parts
  let intPart = '';
  let frac = '';
  if (d.digits === '0') {
    intPart = '0';
  } else if (d.dp <= 0) {
    intPart = '0';
    frac = '0'.repeat(-d.dp) + d.digits;
  } else if (d.dp >= d.digits.length) {
    intPart = d.digits + '0'.repeat(d.dp - d.digits.length);
  } else {
    intPart = d.digits.slice(0, d.dp);
    frac = d.digits.slice(d.dp);
  }
  frac = (frac + '0'.repeat(prec)).slice(0, prec);
  return (neg ? '-' : '') + intPart + (prec > 0 ? '.' + frac : '');
}

/**
 * |x| rounded to `prec` significant digits as strconv does. An exact tie needs x to be an odd
 * multiple of half a unit of the last kept digit, so x × 2^m is an integer for m = 1 − (that
 * digit's exponent) (m ≥ 1); when it is not (checked with a few bits to spare), toExponential's
 * rounding is exact and equal, without the 61-digit expansion.
 */
function gDigits(x: number, prec: number): { digits: string; dp: number } {
  const ax = Math.abs(x);
  if (ax > 0 && ax < 1e21 && prec <= 21) {
    const q = Math.floor(Math.log10(ax)) - prec + 1;
    const m = Math.max(1, 1 - q) + 4;
    if (m <= 1000 && !Number.isInteger(ax * 2 ** m)) {
      const [mant, exp] = ax.toExponential(prec - 1).split('e') as [string, string];
      const digits = mant.replace('.', '').replace(/0+$/, '');
      return { digits: digits === '' ? '0' : digits, dp: Number(exp) + 1 };
    }
  }
  return roundDigits(decimalDigits(x), prec);
}

/** Go's fmt "%.{prec}g" (no # flag). */
export function goG(x: number, prec: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const neg = x < 0;
  if (prec === 0) prec = 1;
  const d = gDigits(x, prec);
  const nd = d.digits.length;
  let eprec = prec;
  if (eprec > nd && nd >= d.dp) eprec = nd;
  const exp = d.dp - 1;
  let out: string;
  if (exp < -4 || exp >= eprec) {
    const p = Math.min(prec, nd);
    const mant = d.digits[0]! + (p > 1 ? '.' + d.digits.slice(1, p) : '');
    const e = Math.abs(exp);
    out = `${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' + e : e}`;
  } else {
    let p = prec;
    if (p > d.dp) p = nd;
    const decimals = Math.max(p - d.dp, 0);
    let intPart: string;
    let frac: string;
    if (d.dp <= 0) {
      intPart = '0';
      frac = '0'.repeat(-d.dp) + d.digits;
    } else {
      intPart = d.digits.slice(0, d.dp).padEnd(d.dp, '0');
      frac = d.digits.slice(d.dp);
    }
    frac = (frac + '0'.repeat(decimals)).slice(0, decimals);
    out = intPart + (decimals > 0 ? '.' + frac : '');
  }
  return (neg ? '-' : '') + out;
}

/** A value with the unit pprof would use on its own (measurement.Label). */
export function autoLabel(value: number, unit: string): string {
  return scaledLabel(value, unit, 'auto');
}
