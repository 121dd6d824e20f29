//! Topic name and topic filter rules (MQTT 3.1.1 §4.7; MQTT 3.1 "Topic
//! wildcards"), applied alike by the encoder and the decoder.

use crate::error::TopicError;

/// A topic name, as in PUBLISH and in a will: non-empty, no wildcards
/// (§4.7.3 [MQTT-4.7.3-1], §3.3.2.1 [MQTT-3.3.2-2]).
pub(crate) fn check_topic_name(name: &str) -> Result<(), TopicError> {
    if name.is_empty() {
        Err(TopicError::Empty)
    } else if name.contains(['+', '#']) {
        Err(TopicError::WildcardInName)
    } else {
        Ok(())
    }
}

/// A topic filter, as in SUBSCRIBE and UNSUBSCRIBE: non-empty; `+` fills a whole
/// level; `#` fills a whole level and is the last one (§4.7.1.2, §4.7.1.3).
pub(crate) fn check_topic_filter(filter: &str) -> Result<(), TopicError> {
    if filter.is_empty() {
        return Err(TopicError::Empty);
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        let ok = match level {
            "+" => true,
            "#" => levels.peek().is_none(),
            other => !other.contains(['+', '#']),
        };
        if !ok {
            return Err(TopicError::MisplacedWildcard);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_follow_section_4_7_1() {
        for ok in [
            "#",
            "+",
            "a/#",
            "+/+",
            "/",
            "a//b",
            "sport/+/player1",
            "$SYS/#",
            "+/#",
        ] {
            assert_eq!(check_topic_filter(ok), Ok(()), "{ok:?}");
        }
        for bad in ["a#", "#/a", "a/#/b", "a+", "+a/b", "a/b#", "##"] {
            assert_eq!(
                check_topic_filter(bad),
                Err(TopicError::MisplacedWildcard),
                "{bad:?}"
            );
        }
        assert_eq!(check_topic_filter(""), Err(TopicError::Empty));
    }

    #[test]
    fn names_have_no_wildcards() {
        for ok in ["a", "/", "a/b", "$SYS/x", "é/ü"] {
            assert_eq!(check_topic_name(ok), Ok(()), "{ok:?}");
        }
        for bad in ["#", "a/+", "a+b"] {
            assert_eq!(
                check_topic_name(bad),
                Err(TopicError::WildcardInName),
                "{bad:?}"
            );
        }
        assert_eq!(check_topic_name(""), Err(TopicError::Empty));
    }
}
