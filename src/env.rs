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
    let mut i = 0;
    while i < arg.len() {
        let rest = &arg[i..];
        // Each step yields the text to append and how much of `arg` it used.
        let (text, used): (&[u8], usize) = match (rest[0], rest.get(1)) {
            (b'$', Some(b'$')) => (b"$", 2),
            (b'$', Some(b'{')) => {
                let close = rest
                    .iter()
                    .position(|&b| b == b'}')
                    .ok_or(ExpandError::BadSyntax)?;
                let inner = &rest[2..close];
                let name_len = name_len(inner);
                let name = &inner[..name_len];
                let default = match &inner[name_len..] {
                    [] => None,
                    [b':', b'-', default @ ..] => Some(default),
                    _ => return Err(ExpandError::BadSyntax),
                };
                if name.is_empty() {
                    return Err(ExpandError::BadSyntax);
                }
                let value = match (lookup(name), default) {
                    (Some([]), Some(default)) => default,
                    (Some(value), _) => value,
                    (None, Some(default)) => default,
                    (None, None) => return Err(ExpandError::Unset(name)),
                };
                (value, close + 1)
            }
            (b'$', Some(_)) if name_len(&rest[1..]) > 0 => {
                let name = &rest[1..1 + name_len(&rest[1..])];
                (
                    lookup(name).ok_or(ExpandError::Unset(name))?,
                    1 + name.len(),
                )
            }
            _ => (&rest[..1], 1),
        };
        let end = len + text.len();
        out.get_mut(len..end)
            .ok_or(ExpandError::TooLong)?
            .copy_from_slice(text);
        len = end;
        i += used;
    }
    Ok(len)
}

/// Length of the variable name at the start of `text`: a letter or `_`,
/// then letters, digits and `_`.
fn name_len(text: &[u8]) -> usize {
    match text.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => text
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_')
            .count(),
        _ => 0,
    }
}

/// Looks `name` up in a list of `NAME=value` entries (the process environment).
pub fn lookup<'a>(environ: impl Iterator<Item = &'a [u8]>, name: &[u8]) -> Option<&'a [u8]> {
    for entry in environ {
        if entry.len() > name.len() && entry.starts_with(name) && entry[name.len()] == b'=' {
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
