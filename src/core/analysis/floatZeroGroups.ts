// Counting zero float32 weights four at a time with WebAssembly SIMD (the fixed-width SIMD proposal, in every
// engine since 2021): one 128-bit lane group is one 2:4 group. A float32 is ±0 exactly when its bits other
// than the sign are clear, so no value is converted. The module is a few dozen bytes, assembled here by hand.

/** One SIMD function, `count(ptr, groups, mask) → zeros`, over `groups` × 16 bytes of its own memory at `ptr`. */
function moduleBytes(): Uint8Array<ArrayBuffer> {
  const leb = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...leb(n >>> 7)]);
  const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
  const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  const i32 = 0x7f;
  const v128 = 0x7b;
  // Locals: 0 ptr, 1 groups, 2 mask (parameters); 3 zeros, 4 twoFour, 5 groupZeros (i32); 6 mask × 4 (v128).
  const code = [
    0x02, 0x03, i32, 0x01, v128, //                    locals: 3 × i32, 1 × v128
    0x20, 0x02, 0xfd, 0x11, 0x21, 0x06, //             m = i32x4.splat(mask)
    0x02, 0x40, //                                     block
    0x03, 0x40, //                                       loop
    0x20, 0x01, 0x45, 0x0d, 0x01, //                       if groups == 0: break
    0x20, 0x00, 0xfd, 0x00, 0x00, 0x00, //                 v128.load ptr
    0x20, 0x06, 0xfd, 0x4e, //                             v128.and m
    0xfd, 0x0c, ...new Array<number>(16).fill(0), //        v128.const 0
    0xfd, 0x37, //                                         i32x4.eq → all-ones lanes where ±0
    0xfd, 0xa4, 0x01, 0x69, //                             i32x4.bitmask, popcnt
    0x22, 0x05, //                                         groupZeros = …
    0x20, 0x03, 0x6a, 0x21, 0x03, //                       zeros += groupZeros
    0x20, 0x05, 0x41, 0x02, 0x4f, //                       groupZeros >= 2
    0x20, 0x04, 0x6a, 0x21, 0x04, //                       twoFour += that
    0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, //           ptr += 16
    0x20, 0x01, 0x41, 0x01, 0x6b, 0x21, 0x01, //           groups -= 1
    0x0c, 0x00, //                                         continue
    0x0b, 0x0b, //                                       end loop, end block
    0x20, 0x04, 0x24, 0x00, //                         global twoFour = twoFour
    0x20, 0x03, 0x0b, //                               return zeros
  ];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [0x01, 0x60, 0x03, i32, i32, i32, 0x01, i32]), // type: (i32, i32, i32) → i32
    ...section(3, [0x01, 0x00]), // one function of that type
    ...section(5, [0x01, 0x00, 0x01]), // memory: 1 page to start
    ...section(6, [0x01, i32, 0x01, 0x41, 0x00, 0x0b]), // global: mutable i32 = 0
    ...section(7, [0x03, ...name('memory'), 0x02, 0x00, ...name('count'), 0x00, 0x00, ...name('twoFour'), 0x03, 0x00]),
    ...section(10, [0x01, ...leb(code.length), ...code]),
  ]);
}

interface Exports {
  memory: WebAssembly.Memory;
  count: (ptr: number, groups: number, mask: number) => number;
  twoFour: WebAssembly.Global;
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where the engine lacks WebAssembly SIMD. */
function simdModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    const bytes = moduleBytes();
    compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return compiled;
}

const PAGE = 65536;

/**
 * Zero counts of float32 tensors whose output channels are each one contiguous run of whole 2:4 groups. Their
 * bytes must be put in `buffer(n)` first (read from disk there, or copied).
 */
export class FloatZeroGroups {
  private constructor(private wasm: Exports) {}

  /** Undefined where WebAssembly SIMD is missing. */
  static create(): FloatZeroGroups | undefined {
    const module = simdModule();
    return module ? new FloatZeroGroups(new WebAssembly.Instance(module).exports as unknown as Exports) : undefined;
  }

  /** The first `n` bytes of the module's memory (grown as needed; earlier views are invalid after growing). */
  buffer(n: number): Uint8Array {
    const { memory } = this.wasm;
    if (memory.buffer.byteLength < n) memory.grow(Math.ceil((n - memory.buffer.byteLength) / PAGE));
    return new Uint8Array(memory.buffer, 0, n);
  }

  /** Puts `bytes` at the start of the buffer, unless they were read there. */
  place(bytes: Uint8Array): void {
    const start = this.buffer(bytes.length);
    if (bytes.buffer !== start.buffer || bytes.byteOffset !== 0) start.set(bytes);
  }

  /** Zeros, all-zero channels and 2:4-compliant groups of `channels` × `inner` float32s at the buffer's start. */
  stats(channels: number, inner: number): { zeros: number; zeroChannels: number; twoFourGroups: number } {
    const { count, twoFour } = this.wasm;
    let zeros = 0;
    let zeroChannels = 0;
    let twoFourGroups = 0;
    for (let c = 0; c < channels; c++) {
      const channelZeros = count(c * inner * 4, inner / 4, 0x7fffffff);
      twoFourGroups += twoFour.value as number;
      zeros += channelZeros;
      if (channelZeros === inner) zeroChannels++;
    }
    return { zeros, zeroChannels, twoFourGroups };
  }
}
