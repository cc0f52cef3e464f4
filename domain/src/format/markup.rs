//! Chat markup: the fixed words of a message pass as they are, everything taken from an event
//! (names, titles, messages) is escaped so that it can neither ping (`@everyone`, `@here`,
//! `<!channel>`, `<@id>`, `<users/all>`) nor format or link (`<url|text>`, `[text](url)`).

/// The chat services with a format of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chat {
    Slack,
    Discord,
    GoogleChat,
}

impl Chat {
    /// The longest message the service accepts (UTF-16 units, which never exceed characters).
    pub fn max_chars(self) -> usize {
        match self {
            // Slack truncates beyond 40,000; Discord refuses beyond 2,000; Google Chat 4,096.
            Chat::Slack => 40_000,
            Chat::Discord => 2_000,
            Chat::GoogleChat => 4_096,
        }
    }
}

/// One piece of a message.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// Fixed wording (trusted).
    Lit(&'static str),
    /// Text from the event (escaped).
    Text(String),
    /// Text from the event, emphasized.
    Strong(String),
    /// A link from the event: only `http(s)` URLs become links; `label` is escaped.
    Link { url: String, label: String },
}

/// Longest piece of event text in a default message: the message stays one short line.
const MAX_PART_CHARS: usize = 300;

/// A message for `chat`.
pub fn render(chat: Chat, parts: &[Part]) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            Part::Lit(s) => out.push_str(s),
            Part::Text(s) => out.push_str(&escape(chat, &shorten(s))),
            Part::Strong(s) => {
                let mark = if chat == Chat::Discord { "**" } else { "*" };
                out.push_str(mark);
                out.push_str(&escape(chat, &shorten(s)));
                out.push_str(mark);
            }
            Part::Link { url, label } => out.push_str(&link(chat, url, &shorten(label))),
        }
    }
    out
}

fn shorten(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate(&one_line, MAX_PART_CHARS)
}

/// Escapes text from an event for `chat`: one line, no control characters, no mentions, no
/// markup that links or formats.
pub fn escape(chat: Chat, s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match (chat, c) {
            (_, '\n' | '\r' | '\t') => out.push(' '),
            (_, c) if c.is_control() => {}
            (_, '@') => {
                out.push('@');
                // A zero-width space keeps `@everyone` and friends from being mentions.
                if chat == Chat::Discord || starts_with_group_mention(rest) {
                    out.push('\u{200B}');
                }
            }
            (Chat::Slack, '&') => out.push_str("&amp;"),
            (Chat::Slack, '<') => out.push_str("&lt;"),
            (Chat::Slack, '>') => out.push_str("&gt;"),
            // Google Chat has no escape for its `<users/all>` and `<url|text>` syntax.
            (Chat::GoogleChat, '<') => out.push('‹'),
            (Chat::GoogleChat, '>') => out.push('›'),
            (
                Chat::Discord,
                '\\' | '*' | '_' | '~' | '`' | '|' | '<' | '>' | '[' | ']' | '(' | ')' | '#' | '-'
                | ':',
            ) => {
                out.push('\\');
                out.push(c);
            }
            (_, c) => out.push(c),
        }
    }
    out
}

fn starts_with_group_mention(rest: &str) -> bool {
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    matches!(word.as_str(), "everyone" | "here" | "channel" | "all")
}

/// A link in `chat`'s syntax, or the escaped label alone when `url` is not a web URL.
fn link(chat: Chat, url: &str, label: &str) -> String {
    let parsed = url::Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    let Some(u) = parsed else {
        return escape(chat, label);
    };
    // Characters that would end the link syntax early are percent-encoded.
    let mut href = String::new();
    for c in u.as_str().chars() {
        match c {
            '|' => href.push_str("%7C"),
            '<' => href.push_str("%3C"),
            '>' => href.push_str("%3E"),
            '(' => href.push_str("%28"),
            ')' => href.push_str("%29"),
            ' ' => href.push_str("%20"),
            c => href.push(c),
        }
    }
    let label = escape(chat, label);
    match chat {
        Chat::Slack | Chat::GoogleChat => format!("<{href}|{label}>"),
        Chat::Discord => format!("[{label}](<{href}>)"),
    }
}

/// At most `max` UTF-16 units (so at most `max` characters too), cut on a character boundary
/// and ending with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.encode_utf16().count() <= max {
        return s.to_string();
    }
    let budget = max.saturating_sub(1);
    let mut used = 0;
    let mut out = String::new();
    for c in s.chars() {
        used += c.len_utf16();
        if used > budget {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_escapes_control_sequences() {
        let s = escape(
            Chat::Slack,
            "<!channel> <@U123> a&b <https://x|y> @here @Everyone me@x.io",
        );
        assert_eq!(
            s,
            "&lt;!channel&gt; &lt;@U123&gt; a&amp;b &lt;https://x|y&gt; @\u{200B}here @\u{200B}Everyone me@x.io"
        );
    }

    #[test]
    fn discord_escapes_markdown_and_mentions() {
        let s = escape(
            Chat::Discord,
            "@everyone <@123> [x](https://evil) **b**\nline",
        );
        assert!(!s.contains("@everyone"));
        assert!(!s.contains("<@1") && s.contains("\\<@\u{200B}123\\>"));
        assert!(!s.contains("[x]("));
        assert!(!s.contains('\n'));
        assert_eq!(escape(Chat::Discord, "a_b*c"), "a\\_b\\*c");
    }

    #[test]
    fn google_chat_cannot_mention_all() {
        let s = escape(Chat::GoogleChat, "<users/all> @all");
        assert!(!s.contains("<users/all>"));
        assert!(!s.contains("@all"));
    }

    #[test]
    fn links_only_for_web_urls() {
        let parts = [
            Part::Lit("New post "),
            Part::Link {
                url: "https://c.example/p?a=1|2".into(),
                label: "Hi <b>".into(),
            },
        ];
        assert_eq!(
            render(Chat::Slack, &parts),
            "New post <https://c.example/p?a=1%7C2|Hi &lt;b&gt;>"
        );
        assert_eq!(
            render(Chat::Discord, &parts),
            "New post [Hi \\<b\\>](<https://c.example/p?a=1%7C2>)"
        );
        let js = [Part::Link {
            url: "javascript:alert(1)".into(),
            label: "x".into(),
        }];
        assert_eq!(render(Chat::Slack, &js), "x");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        let emoji = "😀".repeat(10);
        let t = truncate(&emoji, 5);
        assert!(t.encode_utf16().count() <= 5);
        assert_eq!(t, "😀😀…");
        assert_eq!(
            render(Chat::Slack, &[Part::Text("x".repeat(1000))])
                .chars()
                .count(),
            300
        );
    }
}
