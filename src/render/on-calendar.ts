// The balancer's schedule, a cron line in the inventory, as systemd's
// OnCalendar for the timer that runs the balancer where systemd is PID 1
// (templates/balancer.timer.hbs); the cron entry uses the line as it is.
import { HvmError } from '../errors.ts';
import { parseSchedule } from '../inventory/cron.ts';

const DOW = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/**
 * A cron schedule (`m h dom mon dow`, or an @keyword: src/inventory/cron.ts,
 * which the loader already checked) as systemd OnCalendar.
 */
export function cronToOnCalendar(schedule: string): string {
  const parsed = parseSchedule(schedule);
  if ('problem' in parsed) throw new HvmError('E_SCHEDULE', `balancer.schedule: ${parsed.problem}`, { hint: 'use e.g. "* * * * *" or @daily' });
  const [m, h, dom, mon, dow] = parsed.fields;
  const conv = (field: string, first: number, map?: (n: number) => string): string =>
    field
      .split(',')
      .map((item) => {
        if (item === '*') return '*';
        const step = /^\*\/(\d+)$/.exec(item);
        if (step) return `${first}/${step[1]}`;
        const range = /^(\d+)-(\d+)$/.exec(item);
        if (range && map) {
          // systemd's week runs Mon..Sun: cron's 0 (Sunday) cannot start a range
          const [a, b] = [Number(range[1]), Number(range[2])];
          if (a === 0) return b === 0 ? map(0) : `${map(0)},Mon..${map(b)}`;
          return `${map(a)}..${map(b)}`;
        }
        if (range) return `${range[1]}..${range[2]}`;
        return map ? map(Number(item)) : item;
      })
      .join(',');
  const day = dow === '*' ? '' : `${conv(dow, 0, (n) => DOW[n] ?? String(n))} `;
  return `${day}*-${conv(mon, 1)}-${conv(dom, 1)} ${conv(h, 0)}:${conv(m, 0)}:00`;
}
