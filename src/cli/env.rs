//! Shell-style variable expansion in arguments, because exec-form
//! healthchecks have no shell: `$NAME`, `${NAME}`, `${NAME:-default}`, and
//! `$$` for a literal `$`.

/// Why an argument could not be expanded.
#[derive(Debug, PartialEq, Eq)]
pub enum ExpandError<'a> {
    /// The variable is unset and has no default.
    Unset(&'a [u8]),
    /// `${` without a valid name or closing brace.
    BadSyntax,
    /// The expansion does not fit the output buffer.
    TooLong,
}

/// Expands `arg` into `out`, looking variables up with `lookup`; returns the
/// number of bytes written. `${NAME:-default}` uses the default when NAME is
/// unset or empty, as in sh; the default is taken literally. A `$` followed by
/// anything but a name, `{` or `$` stays as it is.
pub fn expand<'a>(
    arg: &'a [u8],
    lookup: impl Fn(&[u8]) -> Option<&'a [u8]>,
    out: &mut [u8],
) -> Result<usize, ExpandError<'a>> {
    let mut len = 0;
    let mut rest = arg;
    while let [first, tail @ ..] = rest {
        // The text to append: this byte, unless it starts an expansion.
        let mut text = core::slice::from_ref(first);
        rest = tail;
        if *first == b'$' {
            if let [b'$', tail @ ..] = rest {
                // `$$`: the `$` is the text.
                rest = tail;
            } else {
                let braced = rest.first() == Some(&b'{');
                let (name, mut after) = split_name(&rest[usize::from(braced)..]);
                let mut default = None;
                if braced {
                    // `}` or `:-DEFAULT}` after the name.
                    let close = after.iter().position(|&b| b == b'}');
                    let (inner, tail) = after.split_at(close.ok_or(ExpandError::BadSyntax)?);
                    match inner {
                        [] => {}
                        [b':', b'-', value @ ..] => default = Some(value),
                        _ => return Err(ExpandError::BadSyntax),
                    }
                    if name.is_empty() {
                        return Err(ExpandError::BadSyntax);
                    }
                    after = &tail[1..];
                }
                if !name.is_empty() {
                    // The default replaces an unset or empty value.
                    let value = lookup(name).filter(|v| !v.is_empty() || default.is_none());
                    text = value.or(default).ok_or(ExpandError::Unset(name))?;
                    rest = after;
                }
            }
        }
        for &b in text {
            *out.get_mut(len).ok_or(ExpandError::TooLong)? = b;
            len += 1;
        }
    }
    Ok(len)
}

/// Splits the variable name off the start of `text`: a letter or `_`, then
/// letters, digits and `_`; empty when there is none.
fn split_name(text: &[u8]) -> (&[u8], &[u8]) {
    let mut n = 0;
    while let Some(&b) = text.get(n) {
        if !(b == b'_' || b.is_ascii_alphabetic() || n > 0 && b.is_ascii_digit()) {
            break;
        }
        n += 1;
    }
    text.split_at(n)
}

/// Looks `name` up in a list of `NAME=value` entries (the process environment).
pub fn lookup<'a>(environ: impl Iterator<Item = &'a [u8]>, name: &[u8]) -> Option<&'a [u8]> {
    for entry in environ {
        if entry.get(name.len()) == Some(&b'=') && entry.starts_with(name) {
            return Some(&entry[name.len() + 1..]);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: [&[u8]; 3] = [b"PORT=9090", b"EMPTY=", b"HOST=127.0.0.2"];

    fn run(arg: &str) -> Result<String, String> {
        let mut out = [0u8; 64];
        match expand(
            arg.as_bytes(),
            |name| lookup(ENV.iter().copied(), name),
            &mut out,
        ) {
            Ok(len) => Ok(String::from_utf8(out[..len].to_vec()).unwrap()),
            Err(e) => Err(format!("{e:?}")),
        }
    }

    #[test]
    fn expands_the_spec_forms() {
        assert_eq!(run("http://:$PORT/").unwrap(), "http://:9090/");
        assert_eq!(run("http://:${PORT}/x").unwrap(), "http://:9090/x");
        assert_eq!(run("${NOPE:-8080}").unwrap(), "8080");
        assert_eq!(run("${EMPTY:-8080}").unwrap(), "8080");
        assert_eq!(run("${PORT:-8080}").unwrap(), "9090");
        assert_eq!(run("${NOPE:-}").unwrap(), "");
        assert_eq!(run("a$$b").unwrap(), "a$b");
        assert_eq!(run("$$PORT").unwrap(), "$PORT");
        assert_eq!(run("$").unwrap(), "$");
        assert_eq!(run("$1 $-").unwrap(), "$1 $-");
        assert_eq!(run("$HOST:$PORT").unwrap(), "127.0.0.2:9090");
        assert_eq!(run("$EMPTY").unwrap(), "");
        assert_eq!(run("plain").unwrap(), "plain");
    }

    #[test]
    fn names_what_is_wrong() {
        assert_eq!(run("$NOPE").unwrap_err(), r#"Unset([78, 79, 80, 69])"#);
        assert_eq!(run("${NOPE}").unwrap_err(), r#"Unset([78, 79, 80, 69])"#);
        assert_eq!(run("${PORT").unwrap_err(), "BadSyntax");
        assert_eq!(run("${}").unwrap_err(), "BadSyntax");
        assert_eq!(run("${1A}").unwrap_err(), "BadSyntax");
        assert_eq!(run("${PORT:?x}").unwrap_err(), "BadSyntax");
        assert_eq!(run(&"x".repeat(65)).unwrap_err(), "TooLong");
    }

    #[test]
    fn lookup_matches_whole_names() {
        let env: [&[u8]; 2] = [b"PORTS=1", b"PORT=2"];
        assert_eq!(lookup(env.iter().copied(), b"PORT"), Some(&b"2"[..]));
        assert_eq!(lookup(env.iter().copied(), b"POR"), None);
    }

    /// A plain reference: the same rules written with String.
    fn reference(arg: &str) -> Option<String> {
        let env = |n: &str| {
            ENV.iter().find_map(|e| {
                let e = std::str::from_utf8(e).unwrap();
                e.strip_prefix(n)
                    .and_then(|v| v.strip_prefix('='))
                    .map(String::from)
            })
        };
        let b: Vec<char> = arg.chars().collect();
        let (mut out, mut i) = (String::new(), 0);
        while i < b.len() {
            if b[i] != '$' {
                out.push(b[i]);
                i += 1;
                continue;
            }
            match b.get(i + 1) {
                Some('$') => {
                    out.push('$');
                    i += 2;
                }
                Some('{') => {
                    let close = b[i..].iter().position(|&c| c == '}')? + i;
                    let inner: String = b[i + 2..close].iter().collect();
                    let (name, default) = match inner.split_once(":-") {
                        Some((n, d)) => (n.to_string(), Some(d.to_string())),
                        None => (inner.clone(), None),
                    };
                    let ok = name
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !ok {
                        return None;
                    }
                    match (env(&name), default) {
                        (Some(v), Some(d)) if v.is_empty() => out.push_str(&d),
                        (Some(v), _) => out.push_str(&v),
                        (None, Some(d)) => out.push_str(&d),
                        (None, None) => return None,
                    }
                    i = close + 1;
                }
                Some(&c) if c.is_ascii_alphabetic() || c == '_' => {
                    let n: String = b[i + 1..]
                        .iter()
                        .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                        .collect();
                    out.push_str(&env(&n)?);
                    i += 1 + n.len();
                }
                _ => {
                    out.push('$');
                    i += 1;
                }
            }
        }
        Some(out)
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_reference(arg in "[a-zA-Z0-9_${}:/-]{0,30}") {
            let mut out = [0u8; 256];
            let fast = expand(arg.as_bytes(), |name| lookup(ENV.iter().copied(), name), &mut out)
                .ok()
                .map(|len| String::from_utf8(out[..len].to_vec()).unwrap());
            proptest::prop_assert_eq!(fast, reference(&arg));
        }
    }
}
