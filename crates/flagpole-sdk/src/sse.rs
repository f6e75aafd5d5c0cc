//! A small server-sent events reader: bytes in, whole events out (`event`, `id`, `data`
//! fields; comments such as heartbeats are skipped), per the WHATWG EventSource parsing
//! rules as far as Flagpole's streams use them.

/// One event.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Event {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

/// Accumulates bytes and yields complete events.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    buffer: Vec<u8>,
    current: Event,
    has_data: bool,
}

impl Parser {
    /// Adds bytes; returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Event> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(end) = self.buffer[start..].iter().position(|&b| b == b'\n') {
            let line_end = start + end;
            let mut line = &self.buffer[start..line_end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            let line = String::from_utf8_lossy(line).into_owned();
            start = line_end + 1;
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
        }
        self.buffer.drain(..start);
        events
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            let has_data = std::mem::take(&mut self.has_data);
            let event = std::mem::take(&mut self.current);
            return (has_data || !event.event.is_empty()).then_some(event);
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => self.current.event = value.to_string(),
            "id" => self.current.id = Some(value.to_string()),
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_are_put_together() {
        let text = b": heartbeat\n\nevent: snapshot\nid: 4\ndata: {\"a\":\ndata: 1}\n\nevent: change\r\nid: 5\r\ndata: {}\r\n\r\n";
        let mut p = Parser::default();
        let mut events = Vec::new();
        for chunk in text.chunks(3) {
            events.extend(p.push(chunk));
        }
        assert_eq!(
            events,
            vec![
                Event {
                    event: "snapshot".into(),
                    id: Some("4".into()),
                    data: "{\"a\":\n1}".into()
                },
                Event {
                    event: "change".into(),
                    id: Some("5".into()),
                    data: "{}".into()
                },
            ]
        );
    }
}
