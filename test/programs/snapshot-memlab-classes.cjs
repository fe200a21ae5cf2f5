// Prints memlab's per-class retained totals for one snapshot as JSON, for the comparison test.
// Usage: node snapshot-memlab-classes.cjs MEMLAB_PREFIX FILE
// Classes are named as DevTools' Summary names them (objects and natives by constructor name,
// the rest by "(type)"); a class's total counts each object's retained size unless one of its
// dominators has the same class.
const path = require('node:path');
const [prefix, file] = process.argv.slice(2);
const { getFullHeapFromFile } = require(path.join(prefix, 'node_modules', '@memlab', 'heap-analysis'));

const classOf = (node) =>
  node.type === 'object' || node.type === 'native' ? node.name : node.type === 'hidden' ? '(system)' : node.type === 'code' ? '(compiled code)' : `(${node.type})`;

(async () => {
  const snap = await getFullHeapFromFile(file);
  const n = snap.nodes.length;
  const cls = new Array(n);
  const dom = new Int32Array(n);
  const ret = new Float64Array(n);
  snap.nodes.forEach((node) => {
    cls[node.nodeIndex] = classOf(node);
    ret[node.nodeIndex] = node.retainedSize;
    dom[node.nodeIndex] = node.dominatorNode ? node.dominatorNode.nodeIndex : 0;
  });
  const totals = {};
  for (let i = 0; i < n; i++) {
    let counted = true;
    for (let d = dom[i], hops = 0; i !== 0 && hops < n; hops++) {
      if (cls[d] === cls[i]) {
        counted = false;
        break;
      }
      if (d === 0) break;
      d = dom[d];
    }
    if (counted) totals[cls[i]] = (totals[cls[i]] || 0) + ret[i];
  }
  process.stdout.write(JSON.stringify({ rootRetained: ret[0], classes: totals }));
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
