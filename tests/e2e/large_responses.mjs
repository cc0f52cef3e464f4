// Responses larger than the emulator reads at once (8 KiB), many times over, through
// `cargo lambda watch`: every one must arrive whole (a regression check for the Runtime API
// relay in shared/src/runtime/relay.rs; without it about 1 in 300 came back as the emulator's
// own 500). Usage: node large_responses.mjs ADMIN_BASE_URL ROUNDS
const [base, rounds = '150'] = process.argv.slice(2);
const auth = 'Basic ' + Buffer.from('admin:admin').toString('base64');
const paths = ['/admin/ui/outgoing.js', '/admin/ui/lib.js', '/admin/ui/incoming.js', '/admin/openapi.json'];
let total = 0;
let bytes = 0;
const failures = [];
const started = Date.now();
for (let round = 0; round < Number(rounds); round++) {
  for (const path of paths) {
    const response = await fetch(base + path, { headers: { Authorization: auth } });
    const body = await response.arrayBuffer();
    total += 1;
    bytes += body.byteLength;
    if (response.status !== 200 || body.byteLength < 8192) {
      failures.push(`${path}: HTTP ${response.status}, ${body.byteLength} bytes`);
    }
  }
}
const seconds = (Date.now() - started) / 1000;
console.log(`${total} responses, ${(bytes / total / 1024).toFixed(1)} KiB average, ${(total / seconds).toFixed(0)}/s, ${failures.length} failed`);
if (failures.length) {
  console.error(failures.slice(0, 10).join('\n'));
  process.exit(1);
}
