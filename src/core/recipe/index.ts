// Recipes (DESIGN.md "Recipes"): the one compression pipeline that `onnx-lens prune/quantize/apply` and the editor
// run. Light modules (types, schema, parse, stringify, stepChecks) load without onnxruntime, for the extension
// host; applyStep/applyRecipe (apply.ts) run the steps.
//
// Final API (refining /tmp/recipe-contract.md item 4):
//   parseRecipe(text, file?) → { recipe?, problems: RecipeProblem[], steps: StepNode[] }      parse.ts
//   formatProblem(file, text, problem) → 'file:line:column: message'; lineColumn(text, offset)  parse.ts
//   stringifyRecipe(recipe) → YAML                                                           stringify.ts
//   STEP_SCHEMAS, RECIPE_SCHEMA (descriptions for hovers/completions), recipeJsonSchema()      schema.ts
//   stepProblem(step, env), recipeOptionName, cliOptionName                                   stepChecks.ts
//   applyStep(model, step, ctx) → { model, summary }; applyRecipe(model, steps, ctx) → { model, steps, warnings }
//                                                                   apply.ts (+ pruneStep.ts, quantizeStep.ts, context.ts)
export * from './types';
export { formatProblem, lineColumn, parseRecipe } from './parse';
export { RECIPE_SCHEMA, STEP_SCHEMAS, recipeJsonSchema, type ObjectSpec, type ValueSpec } from './schema';
export { cliOptionName, recipeOptionName, stepProblem } from './stepChecks';
export { stringifyRecipe } from './stringify';
// Heavy (loads onnxruntime): import from './apply' directly — applyStep(model, step, ctx), applyRecipe(model,
// steps, ctx), with ctx = { calibration, onProgress, onWarning, signal, optionName } (context.ts).
