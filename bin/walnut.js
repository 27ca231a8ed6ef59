#!/usr/bin/env node
// The `walnut` command: runs the compiled CLI (npm run build writes dist/). Node opens its inspector (a
// debugger port on 127.0.0.1:9229) on SIGUSR1 when no listener handles the signal: in a root process that is
// a way in for any local user, so a listener is installed before anything else runs, for every command.
process.on("SIGUSR1", () => {});
const { main } = await import("../dist/src/cli/main.js");
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
