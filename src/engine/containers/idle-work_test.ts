import assert from "node:assert/strict";
import { mock, test } from "node:test";
import { IdleWork } from "./idle-work.js";

test("a task runs once nothing was busy for the quiet time, and once however often asked for", (t) => {
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  const idle = new IdleWork(10);
  let runs = 0;
  const task = () => runs++;
  idle.whenIdle(task);
  idle.whenIdle(task);
  mock.timers.tick(9);
  assert.equal(runs, 0);
  mock.timers.tick(1);
  assert.equal(runs, 1);
  mock.timers.tick(100);
  assert.equal(runs, 1, "asked for twice before it ran: runs once");
});

test("an operation holds tasks back; the quiet time counts from the end of the last one", (t) => {
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  const idle = new IdleWork(10);
  let runs = 0;
  const first = idle.begin();
  idle.whenIdle(() => runs++);
  const second = idle.begin();
  mock.timers.tick(50);
  assert.equal(runs, 0, "nothing runs while an operation is in progress");
  first();
  first(); // ending twice counts once
  mock.timers.tick(50);
  assert.equal(runs, 0, "one of two operations still runs");
  assert.equal(idle.active, true);
  second();
  mock.timers.tick(5);
  const third = idle.begin(); // a new operation within the quiet time puts it off again
  mock.timers.tick(20);
  assert.equal(runs, 0);
  third();
  mock.timers.tick(9);
  assert.equal(runs, 0);
  mock.timers.tick(1);
  assert.equal(runs, 1);
});

test("during() marks an operation even when it fails; close() drops what is queued", async (t) => {
  mock.timers.enable({ apis: ["setTimeout"] });
  t.after(() => mock.timers.reset());
  const idle = new IdleWork(10);
  let runs = 0;
  idle.whenIdle(() => runs++);
  await assert.rejects(
    idle.during(async () => {
      assert.equal(idle.active, true);
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.equal(idle.active, false);
  mock.timers.tick(10);
  assert.equal(runs, 1);
  idle.whenIdle(() => runs++);
  idle.close();
  mock.timers.tick(100);
  idle.whenIdle(() => runs++);
  mock.timers.tick(100);
  assert.equal(runs, 1);
});
