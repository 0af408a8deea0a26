#!/usr/bin/env node
// Baton's CLI entry. Node >= 22.18 runs the TypeScript sources directly (type stripping).
await import("../src/main.ts");
