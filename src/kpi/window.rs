//! Tumbling event-time windows aligned to a time zone.
//!
//! Fixed-size windows (`15m`, `1h`, …) start at local midnight and step in
//! absolute time; the last window of a day ends at the next local midnight,
//! so on a DST day the 1h windows still cover the day exactly. Day windows
//! (`1d`) are local calendar days: 23 or 25 hours long at DST changes.

use crate::config::{WindowKind, WindowSpec};
use crate::model::Timestamp;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The UTC instant of local midnight starting `date` in `tz`. Where midnight
/// does not exist (a DST gap at 00:00) the day starts at the first valid instant.
pub fn local_midnight(tz: Tz, date: NaiveDate) -> Timestamp {
    let mut t = date.and_hms_opt(0, 0, 0).expect("midnight is a valid time");
    for _ in 0..4 {
        if let Some(dt) = tz.from_local_datetime(&t).earliest() {
            return dt.with_timezone(&Utc);
        }
        t += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("valid"))
}

/// The local calendar date of an instant.
pub fn local_date(tz: Tz, ts: Timestamp) -> NaiveDate {
    ts.with_timezone(&tz).date_naive()
}

/// `[start, end)` of the window of `spec` that contains `ts`.
pub fn window_bounds(spec: &WindowSpec, tz: Tz, ts: Timestamp) -> (Timestamp, Timestamp) {
    let date = local_date(tz, ts);
    match spec.kind {
        WindowKind::Days(n) => {
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
            let idx = (date - epoch).num_days();
            let first = idx - idx.rem_euclid(i64::from(n));
            let start_date = epoch + Duration::days(first);
            let end_date = start_date + Duration::days(i64::from(n));
            (local_midnight(tz, start_date), local_midnight(tz, end_date))
        }
        WindowKind::Fixed(ms) => {
            let day_start = local_midnight(tz, date);
            let day_end = local_midnight(tz, date.succ_opt().expect("date in range"));
            let offset = (ts - day_start).num_milliseconds();
            let k = offset.div_euclid(ms);
            let start = day_start + Duration::milliseconds(k * ms);
            let end = (start + Duration::milliseconds(ms)).min(day_end);
            (start, end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_window;

    fn ts(s: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn hour_windows_in_utc() {
        let (s, e) = window_bounds(
            &parse_window("1h").unwrap(),
            chrono_tz::UTC,
            ts("2026-11-22T09:06:00Z"),
        );
        assert_eq!(s, ts("2026-11-22T09:00:00Z"));
        assert_eq!(e, ts("2026-11-22T10:00:00Z"));
    }

    #[test]
    fn amsterdam_day_is_a_local_calendar_day() {
        let tz = chrono_tz::Europe::Amsterdam;
        let day = parse_window("1d").unwrap();
        // 00:30 local on 22 Nov is still 21 Nov in UTC.
        let (s, e) = window_bounds(&day, tz, ts("2026-11-21T23:30:00Z"));
        assert_eq!(s, ts("2026-11-21T23:00:00Z"));
        assert_eq!(e, ts("2026-11-22T23:00:00Z"));
    }

    #[test]
    fn dst_days_are_23_and_25_hours_long() {
        let tz = chrono_tz::Europe::Amsterdam;
        let day = parse_window("1d").unwrap();
        let (s, e) = window_bounds(&day, tz, ts("2026-03-29T12:00:00Z"));
        assert_eq!((e - s).num_hours(), 23);
        let (s, e) = window_bounds(&day, tz, ts("2026-10-25T12:00:00Z"));
        assert_eq!((e - s).num_hours(), 25);
        // The hour windows of the long day still tile it: 25 of them.
        let hour = parse_window("1h").unwrap();
        let mut t = s;
        let mut n = 0;
        while t < e {
            let (ws, we) = window_bounds(&hour, tz, t);
            assert_eq!(ws, t);
            t = we;
            n += 1;
        }
        assert_eq!(n, 25);
    }

    #[test]
    fn multi_day_windows_are_aligned_and_contain_the_instant() {
        let spec = parse_window("7d").unwrap();
        let t = ts("2026-11-22T10:00:00Z");
        let (s, e) = window_bounds(&spec, chrono_tz::UTC, t);
        assert!(s <= t && t < e);
        assert_eq!((e - s).num_days(), 7);
    }
}
