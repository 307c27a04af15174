//! Cron expressions (the 5-field Unix syntax Workers' cron triggers use) and their next firing time, in UTC.
//!
//! Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or `jan`-`dec`), day of week (0-7 or
//! `sun`-`sat`, 0 and 7 both Sunday). Each field is `*`, a value, a range `a-b`, any of those with a step `/n`,
//! or a comma-separated list of them. As in Vixie cron, when both day fields are restricted a day matching either
//! one matches.

use std::fmt;

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_any: bool,
    weekdays_any: bool,
    source: String,
}

/// Why an expression is not a valid cron.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError(pub String);

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CronError {}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn value(s: &str, what: &str, min: u32, max: u32, names: &[&str]) -> Result<u32, CronError> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        return Ok(i as u32 + min);
    }
    match s.parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(CronError(format!(
            "{what} field: {s:?} is not a value from {min} to {max}"
        ))),
    }
}

/// Parses one field into a bit set of the values it allows; the bool says whether it starts with `*` (which, for
/// the day fields, makes it unrestricted in the either-day rule, as in Vixie cron).
fn field(
    s: &str,
    what: &str,
    min: u32,
    max: u32,
    names: &[&str],
) -> Result<(u64, bool), CronError> {
    let mut bits = 0u64;
    for item in s.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, st)) => match st.parse::<u32>() {
                Ok(n) if n >= 1 => (r, n),
                _ => return Err(CronError(format!("{what} field: bad step in {item:?}"))),
            },
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (
                value(a, what, min, max, names)?,
                value(b, what, min, max, names)?,
            );
            if a > b {
                return Err(CronError(format!(
                    "{what} field: range {range:?} runs backwards"
                )));
            }
            (a, b)
        } else {
            let v = value(range, what, min, max, names)?;
            // `5/15` means from 5 to the end in steps of 15.
            (v, if item.contains('/') { max } else { v })
        };
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, s.starts_with('*')))
}

impl Cron {
    pub fn parse(expr: &str) -> Result<Self, CronError> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(CronError(format!(
                "cron {expr:?} has {} fields; expected 5 (minute hour day-of-month month day-of-week)",
                fields.len()
            )));
        }
        let err = |e: CronError| CronError(format!("cron {expr:?}: {e}"));
        let (minutes, _) = field(fields[0], "minute", 0, 59, &[]).map_err(err)?;
        let (hours, _) = field(fields[1], "hour", 0, 23, &[]).map_err(err)?;
        let (days, days_any) = field(fields[2], "day-of-month", 1, 31, &[]).map_err(err)?;
        let (months, _) = field(fields[3], "month", 1, 12, &MONTHS).map_err(err)?;
        let (mut weekdays, weekdays_any) =
            field(fields[4], "day-of-week", 0, 7, &WEEKDAYS).map_err(err)?;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & !(1 << 7);
        }
        Ok(Self {
            minutes,
            hours,
            days,
            months,
            weekdays,
            days_any,
            weekdays_any,
            source: fields.join(" "),
        })
    }

    /// The expression as written (fields separated by single spaces).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let d = self.days & (1 << day) != 0;
        let w = self.weekdays & (1 << weekday) != 0;
        match (self.days_any, self.weekdays_any) {
            (true, true) => true,
            (true, false) => w,
            (false, true) => d,
            (false, false) => d || w,
        }
    }

    /// The first minute strictly after `after_ms` (ms since the Unix epoch) that the expression matches, in ms;
    /// `None` if none comes within eight years (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        const MIN: i64 = 60_000;
        let mut t = after_ms.div_euclid(MIN) * MIN + MIN;
        let limit = after_ms + 8 * 366 * 24 * 60 * MIN;
        while t <= limit {
            let days = t.div_euclid(24 * 60 * MIN);
            let (y, m, d) = civil_from_days(days);
            let weekday = (days + 4).rem_euclid(7) as u32; // 1970-01-01 was a Thursday
            let minute_of_day = (t.rem_euclid(24 * 60 * MIN) / MIN) as u32;
            let (hour, minute) = (minute_of_day / 60, minute_of_day % 60);
            if self.months & (1 << m) == 0 {
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                t = days_from_civil(ny, nm, 1) * 24 * 60 * MIN;
            } else if !self.day_matches(d, weekday) {
                t = (days + 1) * 24 * 60 * MIN;
            } else if self.hours & (1 << hour) == 0 {
                t = days * 24 * 60 * MIN + (hour as i64 + 1) * 60 * MIN;
            } else if self.minutes & (1 << minute) == 0 {
                t += MIN;
            } else {
                return Some(t);
            }
        }
        None
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month 1-12, day 1-31) to days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ms of a UTC date and time.
    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
        (days_from_civil(y, mo, d) * 24 * 60 + h * 60 + mi) * 60_000
    }

    fn next(expr: &str, from: i64) -> i64 {
        Cron::parse(expr).unwrap().next_after(from).unwrap()
    }

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for z in [-1000, 0, 59, 11_016, 19_000, 20_000, 60_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        // 2024-02-29 exists, 2023-02-29 is 2023-03-01.
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    #[test]
    fn every_minute_and_steps() {
        let t = at(2024, 5, 17, 10, 3) + 12_345;
        assert_eq!(next("* * * * *", t), at(2024, 5, 17, 10, 4));
        // Exactly on a minute: the next one, never the same.
        assert_eq!(
            next("* * * * *", at(2024, 5, 17, 10, 4)),
            at(2024, 5, 17, 10, 5)
        );
        assert_eq!(next("*/5 * * * *", t), at(2024, 5, 17, 10, 5));
        assert_eq!(
            next("*/15 * * * *", at(2024, 5, 17, 10, 45)),
            at(2024, 5, 17, 11, 0)
        );
        assert_eq!(next("5/20 * * * *", t), at(2024, 5, 17, 10, 5));
        assert_eq!(
            next("5/20 * * * *", at(2024, 5, 17, 10, 45)),
            at(2024, 5, 17, 11, 5)
        );
        assert_eq!(
            next("10-12,30 * * * *", at(2024, 5, 17, 10, 12)),
            at(2024, 5, 17, 10, 30)
        );
    }

    #[test]
    fn hours_days_months_and_year_ends() {
        let t = at(2024, 12, 31, 23, 59);
        assert_eq!(next("0 0 * * *", t), at(2025, 1, 1, 0, 0));
        assert_eq!(
            next("30 9 1 * *", at(2024, 5, 17, 0, 0)),
            at(2024, 6, 1, 9, 30)
        );
        assert_eq!(
            next("0 12 * feb *", at(2024, 5, 17, 0, 0)),
            at(2025, 2, 1, 12, 0)
        );
        assert_eq!(
            next("0 0 29 2 *", at(2024, 3, 1, 0, 0)),
            at(2028, 2, 29, 0, 0)
        );
        assert_eq!(Cron::parse("0 0 30 2 *").unwrap().next_after(t), None);
    }

    #[test]
    fn weekdays_and_the_day_either_rule() {
        // 2024-05-17 is a Friday.
        let fri = at(2024, 5, 17, 8, 0);
        assert_eq!(next("0 9 * * mon", fri), at(2024, 5, 20, 9, 0));
        assert_eq!(next("0 9 * * 1-5", fri), at(2024, 5, 17, 9, 0));
        assert_eq!(next("0 9 * * 0", fri), at(2024, 5, 19, 9, 0));
        assert_eq!(next("0 9 * * 7", fri), at(2024, 5, 19, 9, 0));
        assert_eq!(next("0 9 * * SAT,SUN", fri), at(2024, 5, 18, 9, 0));
        // Both day fields restricted: the 1st of the month or a Monday, whichever comes first.
        assert_eq!(next("0 0 1 * mon", fri), at(2024, 5, 20, 0, 0));
        assert_eq!(
            next("0 0 1 * mon", at(2024, 5, 28, 0, 0)),
            at(2024, 6, 1, 0, 0)
        );
    }

    #[test]
    fn bad_expressions_are_named() {
        for (expr, says) in [
            ("* * * *", "has 4 fields"),
            ("60 * * * *", "minute field"),
            ("* 24 * * *", "hour field"),
            ("* * 0 * *", "day-of-month field"),
            ("* * * 13 *", "month field"),
            ("* * * * 8", "day-of-week field"),
            ("*/0 * * * *", "bad step"),
            ("5-1 * * * *", "runs backwards"),
            ("@daily", "has 1 fields"),
        ] {
            let e = Cron::parse(expr).unwrap_err().to_string();
            assert!(e.contains(says), "{expr}: {e}");
        }
        assert_eq!(
            Cron::parse(" */5  *  * * * ").unwrap().as_str(),
            "*/5 * * * *"
        );
    }
}
