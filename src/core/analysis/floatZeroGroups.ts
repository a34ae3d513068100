// Counting zero float32 weights four at a time with WebAssembly SIMD (the fixed-width SIMD proposal, in every
// engine since 2021): one 128-bit lane group is one 2:4 group. A float32 is ±0 exactly when its bits other
// than the sign are clear, so no value is converted. The module (about 200 bytes) is assembled here by hand.

/**
 * One SIMD function, `count(ptr, channels, groupsPerChannel, mask) → zeros`, over channels of whole 16-byte
 * groups in its own memory from `ptr`; it leaves the 2:4-compliant groups and all-zero channels in two globals.
 */
function moduleBytes(): Uint8Array<ArrayBuffer> {
  const leb = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...leb(n >>> 7)]);
  const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
  const name = (s: string) => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];
  const i32 = 0x7f;
  const v128 = 0x7b;
  // Locals: 0 ptr, 1 channels, 2 groupsPerChannel, 3 mask (parameters); 4 zeros, 5 twoFour, 6 groupZeros,
  // 7 channelZeros, 8 groupsLeft, 9 zeroChannels (i32); 10 mask × 4 (v128).
  const code = [
    0x02, 0x06, i32, 0x01, v128, //                      locals: 6 × i32, 1 × v128
    0x20, 0x03, 0xfd, 0x11, 0x21, 0x0a, //               m = i32x4.splat(mask)
    0x02, 0x40, 0x03, 0x40, //                           block, loop over channels
    0x20, 0x01, 0x45, 0x0d, 0x01, //                       if channels == 0: break
    0x41, 0x00, 0x21, 0x07, //                             channelZeros = 0
    0x20, 0x02, 0x21, 0x08, //                             groupsLeft = groupsPerChannel
    0x02, 0x40, 0x03, 0x40, //                             block, loop over the channel's groups
    0x20, 0x08, 0x45, 0x0d, 0x01, //                         if groupsLeft == 0: break
    0x20, 0x00, 0xfd, 0x00, 0x00, 0x00, //                   v128.load ptr
    0x20, 0x0a, 0xfd, 0x4e, //                               v128.and m
    0xfd, 0x0c, ...new Array<number>(16).fill(0), //          v128.const 0
    0xfd, 0x37, //                                           i32x4.eq → all-ones lanes where ±0
    0xfd, 0xa4, 0x01, 0x69, 0x22, 0x06, //                   groupZeros = popcnt(i32x4.bitmask)
    0x20, 0x07, 0x6a, 0x21, 0x07, //                         channelZeros += groupZeros
    0x20, 0x06, 0x41, 0x02, 0x4f, 0x20, 0x05, 0x6a, 0x21, 0x05, // twoFour += groupZeros >= 2
    0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, //             ptr += 16
    0x20, 0x08, 0x41, 0x01, 0x6b, 0x21, 0x08, //             groupsLeft -= 1
    0x0c, 0x00, 0x0b, 0x0b, //                               continue; end loop, end block
    0x20, 0x04, 0x20, 0x07, 0x6a, 0x21, 0x04, //           zeros += channelZeros
    0x20, 0x07, 0x20, 0x02, 0x41, 0x04, 0x6c, 0x46, 0x20, 0x09, 0x6a, 0x21, 0x09, // zeroChannels += channelZeros == 4 × groups
    0x20, 0x01, 0x41, 0x01, 0x6b, 0x21, 0x01, //           channels -= 1
    0x0c, 0x00, 0x0b, 0x0b, //                             continue; end loop, end block
    0x20, 0x05, 0x24, 0x00, 0x20, 0x09, 0x24, 0x01, //   globals twoFour, zeroChannels
    0x20, 0x04, 0x0b, //                                 return zeros
  ];
  const mutableI32 = [i32, 0x01, 0x41, 0x00, 0x0b];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, [0x01, 0x60, 0x04, i32, i32, i32, i32, 0x01, i32]), // type: (i32 × 4) → i32
    ...section(3, [0x01, 0x00]), // one function of that type
    ...section(5, [0x01, 0x00, 0x01]), // memory: 1 page to start
    ...section(6, [0x02, ...mutableI32, ...mutableI32]), // globals twoFour, zeroChannels
    ...section(7, [0x04, ...name('memory'), 0x02, 0x00, ...name('count'), 0x00, 0x00, ...name('twoFour'), 0x03, 0x00, ...name('zeroChannels'), 0x03, 0x01]),
    ...section(10, [0x01, ...leb(code.length), ...code]),
  ]);
}

interface Exports {
  memory: WebAssembly.Memory;
  count: (ptr: number, channels: number, groupsPerChannel: number, mask: number) => number;
  twoFour: WebAssembly.Global;
  zeroChannels: WebAssembly.Global;
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
    const zeros = this.wasm.count(0, channels, inner / 4, 0x7fffffff);
    return { zeros, zeroChannels: this.wasm.zeroChannels.value as number, twoFourGroups: this.wasm.twoFour.value as number };
  }
}
