import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatasetError } from '../../../src/core/errors';
import { decodeNpy, encodeNpy } from '../../../src/core/eval/npy';

// Bytes written by numpy 1.24 `np.save` (and `write_array(..., version=(2, 0))`), base64-encoded.
const NUMPY = {
  f32_2x2: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwAAAAAAAAFBA',
  i64_3: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoDAAAAAAAAAP//////////BwAAAAAAAAA=',
  u8_1x3: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoA/wc=',
  f32_v2: 'k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AAAAQA==',
  fortran: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMiksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AACAPwAAgD8AAIA/',
};
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

test('reads numpy-written float32, int64 and uint8 arrays, v1 and v2 headers', () => {
  const f = decodeNpy(bytes(NUMPY.f32_2x2));
  assert.equal(f.dtype, 'f4');
  assert.deepEqual(f.shape, [2, 2]);
  assert.deepEqual([...f.data], [1.5, -2, 0, 3.25]);

  const i = decodeNpy(bytes(NUMPY.i64_3));
  assert.deepEqual(i.shape, [3]);
  assert.deepEqual([...i.data], [3n, -1n, 7n]);

  const u = decodeNpy(bytes(NUMPY.u8_1x3));
  assert.deepEqual(u.shape, [1, 3]);
  assert.deepEqual([...u.data], [0, 255, 7]);

  const v2 = decodeNpy(bytes(NUMPY.f32_v2));
  assert.deepEqual(v2.shape, [2]);
  assert.deepEqual([...v2.data], [1, 2]);
});

test('writes the same bytes numpy does', () => {
  assert.deepEqual(encodeNpy(new Float32Array([1.5, -2, 0, 3.25]), [2, 2]), bytes(NUMPY.f32_2x2));
  assert.deepEqual(encodeNpy(new BigInt64Array([3n, -1n, 7n]), [3]), bytes(NUMPY.i64_3));
  assert.deepEqual(encodeNpy(new Uint8Array([0, 255, 7]), [1, 3]), bytes(NUMPY.u8_1x3));
});

test('rejects Fortran order, truncated data, unknown dtypes and non-npy bytes', () => {
  assert.throws(() => decodeNpy(bytes(NUMPY.fortran), 'f.npy'), (e: Error) => e instanceof DatasetError && /f\.npy: .*Fortran/.test(e.message));
  const full = bytes(NUMPY.f32_2x2);
  assert.throws(() => decodeNpy(full.subarray(0, full.length - 1), 't.npy'), /t\.npy: .*truncated data/);
  const complex = Buffer.from(full);
  complex.write("'<c8'", complex.indexOf("'<f4'"));
  assert.throws(() => decodeNpy(complex, 'c.npy'), /c\.npy: .*dtype '<c8' is not supported/);
  assert.throws(() => decodeNpy(new TextEncoder().encode('hello, world'), 'x.npy'), /x\.npy: .*magic/);
});
