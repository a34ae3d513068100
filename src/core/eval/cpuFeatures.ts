// Does this CPU saturate onnxruntime's U8S8 int8 kernels? MLAS picks VNNI / AMX kernels (32-bit dot products)
// where the CPU has them and VPMADDUBSW (16-bit pair sums) on AVX2 and AVX-512 without VNNI; ARM's kernels
// never saturate (onnxruntime quantization guide, "When and why do I need to try U8U8?"; MLAS platform.cpp).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export interface CpuInt8 {
  /** CPU model name, as the OS reports it */
  name: string;
  arch: string;
  /** do uint8 × int8 products of full-range int8 weights saturate in 16 bits here? */
  saturates: boolean;
  /** the features that decided it, e.g. "avx512_vnni", "avx2 without VNNI" */
  reason: string;
}

/** Flags of the x86 int8 dot-product instructions (Linux /proc/cpuinfo names). */
const VNNI_FLAGS = ['avx512_vnni', 'avx_vnni', 'amx_int8'];

/**
 * The verdict for x86 feature flags (lower-case, Linux /proc/cpuinfo names). Without AVX2 MLAS runs its SSE
 * kernels: on Windows the SSE4.1 U8S8 kernel (PMADDUBSW, saturates), elsewhere SSE2 kernels that widen to
 * 16 bits first and do not saturate.
 */
export function x86Saturation(flags: ReadonlySet<string>, platform: NodeJS.Platform = process.platform): Pick<CpuInt8, 'saturates' | 'reason'> {
  const vnni = VNNI_FLAGS.find((f) => flags.has(f));
  if (vnni) return { saturates: false, reason: vnni };
  if (flags.has('avx512bw')) return { saturates: true, reason: 'AVX-512 without VNNI' };
  if (flags.has('avx2')) return { saturates: true, reason: 'AVX2 without VNNI' };
  if (flags.has('sse4_1') && platform === 'win32') return { saturates: true, reason: 'SSE4.1 (Windows kernel)' };
  return { saturates: false, reason: 'SSE2 kernels (widen to 16 bits)' };
}

/** Model name and feature flags of the first processor in a Linux /proc/cpuinfo text. */
export function parseCpuinfo(text: string): { name: string; flags: Set<string> } {
  const field = (key: string) => new RegExp(`^${key}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1].trim();
  return { name: field('model name') ?? field('Hardware') ?? '', flags: new Set((field('flags') ?? '').split(/\s+/).filter(Boolean)) };
}

/** macOS: sysctl's leaf-7 feature names (AVX512VNNI, AVX2, …) mapped to the Linux flag names used above. */
export function macFlags(leaf7: string, features: string): Set<string> {
  const names = `${leaf7} ${features}`.toLowerCase().split(/\s+/);
  const map: Record<string, string> = { avx512vnni: 'avx512_vnni', avxvnni: 'avx_vnni', avx512bw: 'avx512bw', avx2: 'avx2', 'sse4.1': 'sse4_1' };
  return new Set(names.map((n) => map[n]).filter((n): n is string => !!n));
}

function sysctl(key: string): string {
  try {
    return execFileSync('sysctl', ['-n', key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/**
 * This machine's int8 behaviour. ARM never saturates. x86 flags come from /proc/cpuinfo (Linux) or sysctl
 * (macOS); Windows exposes no flags to Node without a native module, so there x86 is assumed to saturate:
 * the warning errs on the safe side.
 */
export function detectCpuInt8(): CpuInt8 {
  const arch = os.arch();
  const name = os.cpus()[0]?.model.trim() ?? '';
  if (arch !== 'x64' && arch !== 'ia32') return { name, arch, saturates: false, reason: `${arch} kernels (32-bit accumulation)` };
  if (process.platform === 'linux') {
    try {
      const info = parseCpuinfo(fs.readFileSync('/proc/cpuinfo', 'utf8'));
      return { name: info.name || name, arch, ...x86Saturation(info.flags) };
    } catch {
      // fall through to the unknown case
    }
  }
  if (process.platform === 'darwin') {
    return { name, arch, ...x86Saturation(macFlags(sysctl('machdep.cpu.leaf7_features'), sysctl('machdep.cpu.features'))) };
  }
  return { name, arch, saturates: true, reason: 'x86 feature flags unknown on this OS (assumed without VNNI)' };
}
