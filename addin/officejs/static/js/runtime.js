// Loaded by runtime.html inside Office: wire the ribbon's actions and the cell functions once Office is ready.
import { registerCommands } from "./commands.js";
import { registerFunctions } from "./functions.js";

Office.onReady(() => {
  registerCommands(Office, globalThis.Excel);
  if (globalThis.CustomFunctions) registerFunctions(globalThis.CustomFunctions, globalThis.Excel);
});
