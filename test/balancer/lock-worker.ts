// A separate process for test/balancer/lock.test.ts:
//   hold PATH               take the lock, print "held", wait to be killed;
//   race PATH INSIDE N      N rounds: take the lock; if taken, create INSIDE
//                           exclusively (a second holder would find it there:
//                           an overlap), stay a moment, remove it, release.
//                           Prints {"acquired","busy","overlaps"}.
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { acquireLock } from '../../balancer/lock.ts';

const [mode, path, inside, rounds] = process.argv.slice(2);
if (mode === 'hold') {
  const lock = acquireLock(path!);
  if (!lock.acquired) process.exit(3);
  process.stdout.write('held\n');
  setInterval(() => {}, 1000);
} else {
  let acquired = 0;
  let busy = 0;
  let overlaps = 0;
  for (let i = 0; i < Number(rounds); i++) {
    const lock = acquireLock(path!);
    if (!lock.acquired) {
      busy += 1;
      continue;
    }
    acquired += 1;
    try {
      closeSync(openSync(inside!, 'wx'));
    } catch {
      overlaps += 1;
    }
    const until = Date.now() + 2;
    while (Date.now() < until) {
      /* stay inside a moment */
    }
    try {
      unlinkSync(inside!);
    } catch {
      /* the other holder removed it */
    }
    lock.release();
  }
  process.stdout.write(JSON.stringify({ acquired, busy, overlaps }));
}
