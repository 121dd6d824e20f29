//! The AT line parser and line editor must never panic, and a line the editor
//! hands over must parse or be a syntax error — nothing else.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmodem_at::{parse_line, LineEditor, LineEvent, MAX_LINE_LEN};

fuzz_target!(|data: &[u8]| {
    let _ = parse_line(data);
    let mut editor = LineEditor::new();
    for &b in data {
        if let LineEvent::Line(line) = editor.feed(b, b'\r', 8) {
            assert!(line.len() <= MAX_LINE_LEN);
            if let Ok(cmds) = parse_line(&line) {
                for cmd in cmds {
                    if let vmodem_at::Form::Write(args) = &cmd.form {
                        for a in args {
                            let _ = a.int();
                            let _ = a.text();
                        }
                    }
                }
            }
        }
    }
});
