//! Instants as the management APIs read and write them: RFC 3339 / ISO 8601 with a zone
//! (`2022-05-23T13:03:21.711Z`, `+02:00`), or without one, read as UTC (what some clients send).

use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{OffsetDateTime, PrimitiveDateTime};

/// Parse an instant to unix seconds; `None` when it is not one.
pub fn parse(text: &str) -> Option<i64> {
    parse_full(text).map(OffsetDateTime::unix_timestamp)
}

/// Parse an instant.
pub fn parse_full(text: &str) -> Option<OffsetDateTime> {
    let t = text.trim();
    OffsetDateTime::parse(t, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(t, &Iso8601::DEFAULT))
        .ok()
        .or_else(|| {
            PrimitiveDateTime::parse(t, &Iso8601::DEFAULT)
                .ok()
                .map(PrimitiveDateTime::assume_utc)
        })
}

/// Unix seconds as RFC 3339 UTC with milliseconds (`2022-05-23T13:08:35.680Z`).
pub fn format(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_fractions_and_naive_times() {
        assert_eq!(parse("1970-01-01T00:00:10Z"), Some(10));
        assert_eq!(parse("2022-05-23T13:03:21.711Z"), Some(1_653_311_001));
        assert_eq!(parse("2022-05-23T15:03:21+02:00"), Some(1_653_311_001));
        assert_eq!(parse("2019-10-25T12:00:31"), parse("2019-10-25T12:00:31Z"));
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse(""), None);
        assert_eq!(format(1_653_311_001), "2022-05-23T13:03:21.000Z");
        assert_eq!(parse(&format(1_653_311_001)), Some(1_653_311_001));
    }
}
