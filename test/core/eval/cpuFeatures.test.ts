import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectCpuInt8, macFlags, parseCpuinfo, x86Saturation } from '../../../src/core/eval/cpuFeatures';

// Abridged /proc/cpuinfo texts of real CPUs (flags as the Linux kernel names them).
const EPYC_AVX2 = `processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7R13 Processor
flags\t\t: fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi2 sha_ni
processor\t: 1
model name\t: AMD EPYC 7R13 Processor
flags\t\t: fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi2 sha_ni
`;
const SKYLAKE_X = `model name\t: Intel(R) Xeon(R) Platinum 8168 CPU @ 2.70GHz
flags\t\t: sse4_1 sse4_2 avx avx2 avx512f avx512dq avx512cd avx512bw avx512vl
`;
const CASCADE_LAKE = `model name\t: Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz
flags\t\t: sse4_1 avx2 avx512f avx512bw avx512vl avx512_vnni
`;
const ALDER_LAKE = `model name\t: 12th Gen Intel(R) Core(TM) i7-1260P
flags\t\t: sse4_1 avx2 avx_vnni
`;
const SAPPHIRE_RAPIDS_AMX_ONLY = `model name\t: Intel(R) Xeon(R) Processor
flags\t\t: avx2 avx512bw amx_int8
`;

test('/proc/cpuinfo: VNNI or AMX is safe; AVX2 and AVX-512 without VNNI saturate', () => {
  const verdict = (text: string) => {
    const info = parseCpuinfo(text);
    return { name: info.name, ...x86Saturation(info.flags, 'linux') };
  };
  assert.deepEqual(verdict(EPYC_AVX2), { name: 'AMD EPYC 7R13 Processor', saturates: true, reason: 'AVX2 without VNNI' });
  assert.deepEqual(verdict(SKYLAKE_X), { name: 'Intel(R) Xeon(R) Platinum 8168 CPU @ 2.70GHz', saturates: true, reason: 'AVX-512 without VNNI' });
  assert.equal(verdict(CASCADE_LAKE).saturates, false);
  assert.equal(verdict(CASCADE_LAKE).reason, 'avx512_vnni');
  assert.equal(verdict(ALDER_LAKE).reason, 'avx_vnni');
  assert.equal(verdict(SAPPHIRE_RAPIDS_AMX_ONLY).reason, 'amx_int8');
});

test('without AVX2: the SSE4.1 kernel (Windows) saturates, the SSE2 kernels elsewhere do not', () => {
  const flags = new Set(['sse2', 'ssse3', 'sse4_1']);
  assert.equal(x86Saturation(flags, 'win32').saturates, true);
  assert.equal(x86Saturation(flags, 'linux').saturates, false);
});

test('macOS sysctl feature names map to the same verdicts', () => {
  assert.equal(x86Saturation(macFlags('RDWRFSGS TSC_THREAD_OFFSET BMI1 AVX2 SMEP BMI2', 'FPU SSE4.1 AVX1.0')).reason, 'AVX2 without VNNI');
  assert.equal(x86Saturation(macFlags('AVX2 AVX512F AVX512BW AVX512VNNI', 'SSE4.1')).reason, 'avx512_vnni');
});

test('this machine gets a verdict with a CPU name', () => {
  const cpu = detectCpuInt8();
  console.log(`this CPU: ${cpu.name} (${cpu.arch}): ${cpu.saturates ? 'saturates' : 'safe'} — ${cpu.reason}`);
  assert.equal(typeof cpu.saturates, 'boolean');
  assert.ok(cpu.reason.length > 0);
});
