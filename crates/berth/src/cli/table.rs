//! A tiny column-aligning table printer for human output, and the same
//! alignment for `key: value` listings. Every cell goes through `clean`, so a
//! value coming from the server (a tenant name, a log line) can never carry
//! terminal escape sequences or fake extra rows onto the user's screen.

/// Rows of cells under a header, printed with columns padded to line up.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Add a row; missing cells are blank, extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells: Vec<String> = cells.iter().map(|c| clean(c)).collect();
        cells.resize(self.headers.len(), String::new());
        self.rows.push(cells);
    }

    /// The table as text, one line per row, columns separated by two spaces,
    /// no trailing whitespace.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', w.saturating_sub(width(cell))));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// `key  value` lines with the values aligned, for `show` commands.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let w = pairs.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in pairs {
        let v = clean(v);
        let pad = " ".repeat(w - width(k));
        out.push_str(format!("{k}:{pad}  {v}").trim_end());
        out.push('\n');
    }
    out
}

pub fn print_fields(pairs: &[(&str, String)]) {
    print!("{}", fields(pairs));
}

/// Display width, counted in characters (no East Asian width tables: the
/// values we show are mostly ASCII, and a dependency is not worth it).
fn width(s: &str) -> usize {
    s.chars().count()
}

/// One line of text safe for a terminal: control characters (ESC, CR, LF,
/// TAB…) are shown escaped instead of interpreted.
pub fn clean(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Like `clean`, but keeps line breaks and tabs, for multi-line text such as
/// job log messages.
pub fn clean_multiline(s: &str) -> String {
    s.split('\n')
        .map(|line| line.split('\t').map(clean).collect::<Vec<_>>().join("\t"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let mut t = Table::new(&["ID", "NAME", "STATUS"]);
        t.row(vec!["1".into(), "acme".into(), "active".into()]);
        t.row(vec!["22".into(), "b\u{e9}ta-longer".into(), String::new()]);
        t.row(vec!["3".into()]);
        assert_eq!(
            t.render(),
            "ID  NAME         STATUS\n\
             1   acme         active\n\
             22  b\u{e9}ta-longer\n\
             3\n"
        );
    }

    #[test]
    fn empty_table_is_just_the_header() {
        let t = Table::new(&["A", "B"]);
        assert_eq!(t.render(), "A  B\n");
    }

    #[test]
    fn escapes_and_newlines_are_neutralised() {
        let mut t = Table::new(&["X"]);
        t.row(vec!["evil\u{1b}[2Jline\nfake row".into()]);
        let out = t.render();
        assert_eq!(out.lines().count(), 2);
        assert!(!out.contains('\u{1b}'));
        assert!(out.contains("\\u{1b}[2Jline\\nfake row"));
        assert_eq!(clean_multiline("a\n\tb\u{7}"), "a\n\tb\\u{7}");
    }

    #[test]
    fn fields_align() {
        let out = fields(&[
            ("id", "1".into()),
            ("display name", "Acme".into()),
            ("x", String::new()),
        ]);
        assert_eq!(out, "id:            1\ndisplay name:  Acme\nx:\n");
    }
}
