// Tests src/extension/editor/inputShapes.ts: the input-shape text a user types for models with symbolic input dims.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inputShapesText, parseInputShapes, shapeArgs, unsizedInputs } from '../../../src/extension/editor/inputShapes';

// The PaddleOCR classifier's input, as inspect --json lists it, and a second input with a fixed shape.
const inputs = [
  { name: 'x', dtype: 'float32', shape: ['p2o.DynamicDimension.0', 3, 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2'] },
  { name: 'mask', dtype: 'float32', shape: [1, 10] },
];

test('the starting text has batch 1 and a ? for every other symbolic dim, or the shapes given before', () => {
  assert.equal(inputShapesText(inputs, {}), 'x=1,3,?,?; mask=1,10');
  assert.equal(inputShapesText(inputs, { x: [2, 3, 48, 192] }), 'x=2,3,48,192; mask=1,10');
});

test('shapes parse per input; x-separated dims and spaces are accepted', () => {
  assert.deepEqual(parseInputShapes('x=1,3,48,192', inputs), { x: [1, 3, 48, 192] });
  assert.deepEqual(parseInputShapes(' x = 1x3x48x192 ; mask=1,10 ', inputs), { x: [1, 3, 48, 192], mask: [1, 10] });
});

test('what cannot be a shape of the input is refused with the reason', () => {
  assert.match(parseInputShapes('x=1,3,?,?', inputs) as string, /not NAME=D1,D2/);
  assert.match(parseInputShapes('y=1,3,48,192', inputs) as string, /'y' is not an input of the model \(inputs: x, mask\)/);
  assert.match(parseInputShapes('x=1,3,48', inputs) as string, /has 4 dimensions, not 3/);
  assert.match(parseInputShapes('x=1,4,48,192', inputs) as string, /dimension 1 of 'x' is fixed at 3/);
  assert.match(parseInputShapes('x=0,3,48,192', inputs) as string, /must be positive/);
});

test('inputs that need a shape before a run or an export: symbolic dims other than the batch, unless shapes were given', () => {
  const y = { name: 'y', shape: ['batch', 10] };
  const z = { name: 'z', shape: [1, 3, 0, 4] };
  assert.deepEqual(unsizedInputs([...inputs, y, z], {}).map((i) => i.name), ['x', 'z'], 'a symbolic batch alone is fine; 0 is unknown too');
  assert.deepEqual(unsizedInputs([...inputs, y, z], { x: [1, 3, 48, 192] }).map((i) => i.name), ['z']);
  assert.deepEqual(shapeArgs({ x: [1, 3, 48, 192], mask: [1, 10] }), ['--shape', 'x=1,3,48,192', '--shape', 'mask=1,10']);
});
