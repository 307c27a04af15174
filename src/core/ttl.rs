//! TTL parsing as hyper does it with npm `ms`: `10s`, `15m`, `1.5h`, `2d`, `1w`, `1y`, or bare milliseconds.

use crate::core::CoreError;

const SECOND: f64 = 1000.0;
const MINUTE: f64 = 60.0 * SECOND;
const HOUR: f64 = 60.0 * MINUTE;
const DAY: f64 = 24.0 * HOUR;
const WEEK: f64 = 7.0 * DAY;
const YEAR: f64 = 365.25 * DAY;

/// Parses a TTL into milliseconds. Accepts the unit spellings of `ms` v2 (`ms`, `s`, `sec`, `secs`,
/// `second(s)`, `m`, `min(s)`, `minute(s)`, `h`, `hr(s)`, `hour(s)`, `d`, `day(s)`, `w`, `week(s)`, `y`, `yr(s)`,
/// `year(s)`), case-insensitively, with optional space between number and unit. Zero means "no expiry".
pub fn parse_ttl_ms(input: &str) -> Result<u64, CoreError> {
    let s = input.trim();
    let bad = || {
        CoreError::InvalidTtl(format!(
            "'{input}' (use e.g. 10s, 15m, 1.5h, 2d, 1w, 1y or milliseconds)"
        ))
    };
    if s.is_empty() || s.len() > 100 {
        return Err(bad());
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number.parse().map_err(|_| bad())?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 1.0,
        "s" | "sec" | "secs" | "second" | "seconds" => SECOND,
        "m" | "min" | "mins" | "minute" | "minutes" => MINUTE,
        "h" | "hr" | "hrs" | "hour" | "hours" => HOUR,
        "d" | "day" | "days" => DAY,
        "w" | "week" | "weeks" => WEEK,
        "y" | "yr" | "yrs" | "year" | "years" => YEAR,
        _ => return Err(bad()),
    };
    let ms = (value * factor).round();
    if !ms.is_finite() || ms < 0.0 || ms > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(ms as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_ttl_ms;

    #[test]
    fn parses_as_ms_does() {
        let cases = [
            ("10s", 10_000),
            ("15m", 900_000),
            ("5h", 18_000_000),
            ("1.5h", 5_400_000),
            ("2d", 172_800_000),
            ("1w", 604_800_000),
            ("1y", 31_557_600_000),
            ("100", 100),
            ("2 days", 172_800_000),
            ("1H", 3_600_000),
            ("0", 0),
        ];
        for (input, want) in cases {
            assert_eq!(parse_ttl_ms(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        for bad in ["", "abc", "10x", "s", "-5s", "1..2s", "undefined"] {
            let err = parse_ttl_ms(bad).unwrap_err().to_string();
            assert!(err.contains("ttl is not valid"), "{bad}: {err}");
        }
    }
}
