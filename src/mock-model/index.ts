// Public surface of the scripted model server (see docs/mock-model.md).
export { type MockModelCommandOptions, runMockModelCommand } from "./command.ts";
export type { MockModelRequest } from "./request-log.ts";
export type { Script, ScriptStep, StepAction } from "./script.ts";
export { parseScript } from "./script.ts";
export { type MockModel, type MockModelOptions, startMockModel } from "./server.ts";
