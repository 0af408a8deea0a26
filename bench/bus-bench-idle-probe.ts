// The machine's scheduling delay, seen by a process that needs almost no CPU: a 1 ms timer whose
// lateness is recorded until stdin closes, then printed as JSON. Run beside a bus-benchmark run, it tells a
// starved Baton (busy, so it waits its turn behind every other runnable process) from a slow one: an idle
// process is woken within a few ms even at a load average of 8 on 2 cores, a busy one is not.
const lateness: number[] = [];
let last = performance.now();
const timer = setInterval(() => {
  const now = performance.now();
  lateness.push(now - last - 1);
  last = now;
}, 1);
process.stdin.resume();
process.stdin.once("end", () => {
  clearInterval(timer);
  lateness.sort((a, b) => a - b);
  const at = (p: number) => lateness[Math.min(lateness.length - 1, Math.floor(p * lateness.length))] ?? 0;
  process.stdout.write(`${JSON.stringify({ p99: at(0.99), max: lateness.at(-1) ?? 0 })}\n`);
});
