/**
 * Seeded PRNG (xoshiro128**, seeded through splitmix32). Everything random in the policy package draws
 * from one of these so that a seed fixes the weights, the data order and the GRPO samples bit for bit;
 * the four-word state is what checkpoints store to make resume exact.
 */
export class Rng {
  private s: Uint32Array;

  constructor(seed: number | readonly number[]) {
    this.s = new Uint32Array(4);
    if (typeof seed === 'number') {
      let x = seed >>> 0;
      for (let i = 0; i < 4; i++) {
        // splitmix32: spreads a small integer seed over the whole state so nearby seeds diverge at once
        x = (x + 0x9e3779b9) >>> 0;
        let z = x;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        this.s[i] = (z ^ (z >>> 16)) >>> 0;
      }
      if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
    } else {
      if (seed.length !== 4) throw new Error('Rng state must have 4 words');
      this.s.set(seed.map((v) => v >>> 0));
    }
  }

  state(): number[] {
    return Array.from(this.s);
  }

  /** uniform uint32 */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2] = s[2]! ^ s[0]!;
    s[3] = s[3]! ^ s[1]!;
    s[1] = s[1]! ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** uniform in [0, 1) with 32 bits of resolution */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** standard normal (Box–Muller, no cached second value so the state alone determines the stream) */
  normal(): number {
    let u = this.next();
    while (u <= 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** index drawn from unnormalised non-negative weights */
  categorical(weights: ArrayLike<number>, offset = 0, n = weights.length - offset): number {
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[offset + i]!;
    let u = this.next() * total;
    let last = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[offset + i]!;
      if (w > 0) last = i;
      u -= w;
      if (u < 0 && w > 0) return i;
    }
    return last;
  }

  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i]!;
      arr[i] = arr[j]!;
      arr[j] = tmp;
    }
    return arr;
  }

  /** derives an independent stream (for sub-tasks whose draws must not shift the main stream) */
  fork(): Rng {
    return new Rng(this.nextU32() ^ 0x5bd1e995);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
