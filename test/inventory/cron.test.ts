// balancer.schedule: five cron fields or an @keyword, each field in its range,
// nothing else (no newline, no trailing command): what cron and the systemd
// timer can both run.
import { describe, expect, it } from 'vitest';
import { cronKeywords, parseSchedule, shortestGapSeconds } from '../../src/inventory/cron.ts';

describe('parseSchedule', () => {
  it.each([
    ['* * * * *', ['*', '*', '*', '*', '*']],
    ['*/5 * * * *', ['*/5', '*', '*', '*', '*']],
    ['0,30 8-18 * * 1-5', ['0,30', '8-18', '*', '*', '1-5']],
    ['0\t0 1 1 *', ['0', '0', '1', '1', '*']],
    ['0 0 * * 7', ['0', '0', '*', '*', '7']],
    ['*/59 * * * *', ['*/59', '*', '*', '*', '*']],
    ['0 0 29 2 *', ['0', '0', '29', '2', '*']],
    ['@daily', ['0', '0', '*', '*', '*']],
    ['@midnight', ['0', '0', '*', '*', '*']],
    ['@annually', ['0', '0', '1', '1', '*']],
  ])('%j -> %j', (schedule, fields) => {
    expect(parseSchedule(schedule)).toEqual({ fields });
  });

  it.each([
    ['* * *', '"* * *" has 3 fields; a cron schedule has 5'],
    ['* * * * * /bin/sh -c evil', 'has 8 fields'],
    ['* * * * *\n* * * * * root evil', 'fields; a cron schedule has 5'],
    [' * * * * *', 'has 5 fields'], // a leading blank is an empty first field
    ['@reboot', '"@reboot" is not one of @hourly, @daily'],
    ['@Daily', 'is not one of'],
    ['60 * * * *', 'minute field: "60" is outside 0-59'],
    ['* 24 * * *', 'hour field: "24" is outside 0-23'],
    ['* * 0 * *', 'day-of-month field: "0" is outside 1-31'],
    ['* * * 13 *', 'month field: "13" is outside 1-12'],
    ['* * * * 8', 'day-of-week field: "8" is outside 0-7'],
    ['*/0 * * * *', 'minute field: step */0 must be at least 1'],
    ['5-1 * * * *', 'minute field: range "5-1" goes backwards'],
    ['1-10/2 * * * *', 'minute field: "1-10/2" is not *, */N, N, or A-B'],
    ['* * * jan *', 'month field: "jan" is not'],
    // what the systemd timer cannot say, or says otherwise than cron
    ['*/60 * * * *', 'minute field: step */60 is larger than the field\'s span (0-59)'],
    ['0 */24 * * *', 'hour field: step */24 is larger than the field\'s span (0-23)'],
    ['0 0 */31 * *', 'day-of-month field: step */31 is larger'],
    ['0 0 * */12 *', 'month field: step */12 is larger'],
    ['0 0 * * */2', 'day-of-week field: step */2: the systemd timer cannot step weekdays; list them (e.g. 0,2,4,6)'],
    ['0 0 1 * 1', 'both day-of-month and day-of-week are set; cron runs on either, the systemd timer only on both'],
    ['0 0 30 2 *', 'day-of-month 30 never comes in month 2 (at most 29 days): the balancer would never run'],
    ['0 0 31 4,6 *', 'day-of-month 31 never comes in month 4,6 (at most 30 days)'],
  ])('%j is refused: %s', (schedule, why) => {
    const r = parseSchedule(schedule);
    expect('problem' in r ? r.problem : 'accepted').toContain(why);
  });

  it('every @keyword stands for a valid five-field schedule', () => {
    for (const keyword of Object.keys(cronKeywords)) expect(parseSchedule(keyword)).toHaveProperty('fields');
  });
});

describe('shortestGapSeconds', () => {
  it.each([
    ['* * * * *', 60],
    ['*/5 * * * *', 300],
    ['*/7 * * * *', 240], // :56, then :00 of the next hour
    ['0,30 8-18 * * 1-5', 1800],
    ['15 * * * *', 3600],
    ['0 9,21 * * *', 43_200],
    ['58-59 23 * * *', 60],
    ['@daily', 86_400],
    ['@weekly', 86_400], // the day fields only leave days out
  ])('%j: %i s', (schedule, seconds) => {
    const r = parseSchedule(schedule);
    if ('problem' in r) throw new Error(r.problem);
    expect(shortestGapSeconds(r.fields)).toBe(seconds);
  });
});
