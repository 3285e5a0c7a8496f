// The balancer's schedule (`balancer.schedule`): five cron fields or an
// @keyword, read ONCE here. The loader refuses anything else with its
// location, so apply never finds out at its last stage that the systemd timer
// cannot express it (tasks/ops/balancer.ts turns the fields into OnCalendar),
// and render never writes a newline or a trailing command into /etc/cron.d.
// Each field: `*`, `*/n`, a number, a range `a-b`, or a comma list of those,
// inside the field's range; that is exactly what OnCalendar can say too.
// Pure.

/** The @keywords cron and the timer both understand, as the five fields they stand for (crontab(5)). */
export const cronKeywords: Readonly<Record<string, string>> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

export const cronFieldNames = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;

const bounds: readonly (readonly [number, number])[] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

export type CronFields = readonly [string, string, string, string, string];

function itemProblem(item: string, [low, high]: readonly [number, number], field: number): string | undefined {
  if (item === '*') return undefined;
  const step = /^\*\/(\d{1,2})$/.exec(item);
  if (step) {
    const n = Number(step[1]);
    if (n < 1) return `step ${item} must be at least 1`;
    // OnCalendar cannot step the weekdays, nor step past the field (cron's */60 is just :00)
    if (field === 4) return `step ${item}: the systemd timer cannot step weekdays; list them (e.g. 0,2,4,6)`;
    if (n > high - low) return `step ${item} is larger than the field's span (${low}-${high}); write the value itself (e.g. ${low})`;
    return undefined;
  }
  const range = /^(\d{1,2})-(\d{1,2})$/.exec(item);
  const values = range ? [Number(range[1]), Number(range[2])] : /^\d{1,2}$/.test(item) ? [Number(item)] : undefined;
  if (values === undefined) return `"${item}" is not *, */N, N, or A-B`;
  if (values.some((v) => v < low || v > high)) return `"${item}" is outside ${low}-${high}`;
  if (range && values[0]! > values[1]!) return `range "${item}" goes backwards`;
  return undefined;
}

/**
 * The five fields of `schedule` (an @keyword expanded), or why it is not a
 * schedule apply can install both as a cron entry and as a systemd timer.
 */
export function parseSchedule(schedule: string): { fields: CronFields } | { problem: string } {
  if (schedule.startsWith('@')) {
    const expanded = cronKeywords[schedule];
    if (expanded === undefined) return { problem: `"${schedule}" is not one of ${Object.keys(cronKeywords).join(', ')}` };
    return parseSchedule(expanded);
  }
  const fields = schedule.split(/[ \t]+/);
  if (fields.length !== 5 || fields.some((f) => f === '')) {
    return { problem: `"${schedule}" has ${fields.filter(Boolean).length} fields; a cron schedule has 5, like "* * * * *", or is an @keyword like @daily` };
  }
  for (const [i, field] of fields.entries()) {
    for (const item of field.split(',')) {
      const why = itemProblem(item, bounds[i]!, i);
      if (why !== undefined) return { problem: `"${schedule}": ${cronFieldNames[i]} field: ${why}` };
    }
  }
  const [, , dom, mon, dow] = fields as unknown as CronFields;
  // cron runs when EITHER day field matches, the systemd timer when BOTH do
  if (dom !== '*' && dow !== '*') {
    return { problem: `"${schedule}": both day-of-month and day-of-week are set; cron runs on either, the systemd timer only on both: set one and leave the other *` };
  }
  // a date no month of the schedule has (30 2: the 30th of February) never comes
  if (dom !== '*') {
    const longest = Math.max(...[...fieldValues(mon, bounds[3]!)].map((m) => DAYS_IN_MONTH[m - 1]!));
    if (Math.min(...fieldValues(dom, bounds[2]!)) > longest) {
      return { problem: `"${schedule}": day-of-month ${dom} never comes in month ${mon} (at most ${longest} days): the balancer would never run` };
    }
  }
  return { fields: fields as unknown as CronFields };
}

/** The most days each month can have (February in a leap year). */
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The values a checked field (parseSchedule) stands for, within [low, high]. */
function fieldValues(field: string, [low, high]: readonly [number, number]): Set<number> {
  const out = new Set<number>();
  for (const item of field.split(',')) {
    const step = item === '*' ? 1 : Number(/^\*\/(\d{1,2})$/.exec(item)?.[1] ?? 0);
    if (step > 0) {
      for (let v = low; v <= high; v += step) out.add(v);
      continue;
    }
    const [a, b = a] = item.split('-').map(Number) as [number, number?];
    for (let v = a; v <= (b as number); v++) out.add(v);
  }
  return out;
}

/**
 * The shortest time between two runs of a checked schedule, in seconds, from
 * its minute and hour fields (the day fields only leave days out, which makes
 * no gap shorter): 60 for `* * * * *`, 300 for `*\/5 * * * *`, 86400 for
 * @daily. What the balancer's history is counted in: an hour of it is
 * 3600 / this many runs at most.
 */
export function shortestGapSeconds(fields: CronFields): number {
  const minutes = [...fieldValues(fields[0], bounds[0]!)].sort((x, y) => x - y);
  const hours = [...fieldValues(fields[1], bounds[1]!)].sort((x, y) => x - y);
  const times = hours.flatMap((h) => minutes.map((m) => h * 60 + m));
  // the day's last run to the next day's first
  let gap = (times[0] as number) + 1440 - (times[times.length - 1] as number);
  for (let i = 1; i < times.length; i++) gap = Math.min(gap, (times[i] as number) - (times[i - 1] as number));
  return gap * 60;
}
