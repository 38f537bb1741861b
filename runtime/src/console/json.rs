//! A small JSON writer for the console's `/api/` answers (no serde in this crate): values are
//! appended to one `String`, commas placed by a stack of "has a first member" flags, strings
//! escaped as RFC 8259 asks (quote, backslash, control characters) and `<` `>` `&` too, so a
//! name can never close a `<script>` it is pasted into.

use std::fmt::Write as _;

pub(super) struct Json {
    out: String,
    /// Per open container: whether it has a member yet.
    started: Vec<bool>,
    /// A key was just written: the value that follows takes no comma.
    after_key: bool,
}

impl Json {
    pub(super) fn new() -> Json {
        Json { out: String::with_capacity(4096), started: Vec::new(), after_key: false }
    }

    pub(super) fn finish(self) -> String {
        debug_assert!(self.started.is_empty(), "an unclosed JSON container");
        self.out
    }

    fn comma(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if let Some(started) = self.started.last_mut() {
            if *started {
                self.out.push(',');
            }
            *started = true;
        }
    }

    pub(super) fn begin_object(&mut self) -> &mut Json {
        self.comma();
        self.out.push('{');
        self.started.push(false);
        self
    }

    pub(super) fn end_object(&mut self) -> &mut Json {
        self.started.pop();
        self.out.push('}');
        self
    }

    pub(super) fn begin_array(&mut self) -> &mut Json {
        self.comma();
        self.out.push('[');
        self.started.push(false);
        self
    }

    pub(super) fn end_array(&mut self) -> &mut Json {
        self.started.pop();
        self.out.push(']');
        self
    }

    pub(super) fn key(&mut self, key: &str) -> &mut Json {
        self.comma();
        escape(&mut self.out, key);
        self.out.push(':');
        self.after_key = true;
        self
    }

    pub(super) fn string(&mut self, value: &str) -> &mut Json {
        self.comma();
        escape(&mut self.out, value);
        self
    }

    pub(super) fn number(&mut self, value: u64) -> &mut Json {
        self.comma();
        let _ = write!(self.out, "{value}");
        self
    }

    pub(super) fn signed(&mut self, value: i64) -> &mut Json {
        self.comma();
        let _ = write!(self.out, "{value}");
        self
    }

    pub(super) fn boolean(&mut self, value: bool) -> &mut Json {
        self.comma();
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    pub(super) fn null(&mut self) -> &mut Json {
        self.comma();
        self.out.push_str("null");
        self
    }

    /// `key: value` for the common cases.
    pub(super) fn field_str(&mut self, key: &str, value: &str) -> &mut Json {
        self.key(key).string(value)
    }

    pub(super) fn field_num(&mut self, key: &str, value: u64) -> &mut Json {
        self.key(key).number(value)
    }

    pub(super) fn field_opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Json {
        self.key(key);
        match value {
            Some(value) => self.string(value),
            None => self.null(),
        }
    }

    pub(super) fn field_opt_num(&mut self, key: &str, value: Option<u64>) -> &mut Json {
        self.key(key);
        match value {
            Some(value) => self.number(value),
            None => self.null(),
        }
    }

    pub(super) fn field_bool(&mut self, key: &str, value: bool) -> &mut Json {
        self.key(key).boolean(value)
    }
}

fn escape(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_commas_placed() {
        let mut json = Json::new();
        json.begin_object();
        json.field_str("name", "a \"quoted\"\\ name\n\u{1}</script>");
        json.key("list").begin_array().number(1).signed(-2).null().boolean(true).end_array();
        json.key("empty").begin_object().end_object();
        json.end_object();
        assert_eq!(
            json.finish(),
            r#"{"name":"a \"quoted\"\\ name\n\u0001\u003c/script\u003e","list":[1,-2,null,true],"empty":{}}"#
        );
    }
}
