// Parked promises for the census test (test/watch-real-services.test.ts): 3000 pending promises
// awaited by `waitForever`, 2000 settled ones kept alive, and a pending one whose settled-looking
// value is the string '{ <pending> }' must not be counted twice. Prints {"ready":true} when set.
const keep = [];
globalThis.parkedForTest = keep;
async function waitForever(i) {
  await new Promise(() => {});
  return i;
}
for (let i = 0; i < 3000; i++) keep.push(waitForever(i));
for (let i = 0; i < 2000; i++) keep.push(Promise.resolve({ i, text: '{ <pending> }' }));
keep.push(Promise.resolve('Promise { <pending> }'));
setInterval(() => {}, 60_000);
console.log(JSON.stringify({ ready: true }));
