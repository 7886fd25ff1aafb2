//! Delta debugging for one failing input (Zeller and Hildebrandt's ddmin, simplified to
//! chunk removal, then byte simplification), deterministic and bounded by a budget of attempts.
//!
//! 1. Try the empty body (garbage-triggered bugs usually shrink to it in one attempt).
//! 2. Remove chunks of half the body, then quarters, eighths, … single bytes; a removal is kept
//!    when the finding still reproduces. Passes repeat until a whole pass removes nothing at
//!    one-byte granularity (the body is then 1-minimal for removal) or the budget runs out.
//! 3. Simplify bytes: each remaining letter becomes `a`, digit `0`, non-ASCII or control byte
//!    `a`, when the finding still reproduces. JSON punctuation, whitespace and `\n` are left
//!    alone: they are the structure.
//!
//! `keep` fixes a suffix (the provider input's final `\n`, which decides how stdin is closed):
//! only the body before it is shrunk. Candidates already tried are not tried again.

use std::collections::HashSet;

/// The result of shrinking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shrunk {
    pub input: Vec<u8>,
    /// How many times `reproduces` was called.
    pub attempts: usize,
}

/// Shrinks `input` while `reproduces` holds, calling it at most `budget` times. `input` itself
/// is assumed to reproduce. The last `keep` bytes are never changed.
pub fn shrink(
    input: &[u8],
    keep: usize,
    budget: usize,
    reproduces: &mut dyn FnMut(&[u8]) -> bool,
) -> Shrunk {
    let keep = keep.min(input.len());
    let suffix = input[input.len() - keep..].to_vec();
    let mut body = input[..input.len() - keep].to_vec();
    let mut tried: HashSet<Vec<u8>> = HashSet::new();
    tried.insert(body.clone());
    let mut attempts = 0;
    let mut attempt = |candidate: &[u8], attempts: &mut usize| -> Option<bool> {
        if *attempts >= budget {
            return None;
        }
        if !tried.insert(candidate.to_vec()) {
            return Some(false);
        }
        *attempts += 1;
        let mut full = candidate.to_vec();
        full.extend_from_slice(&suffix);
        Some(reproduces(&full))
    };

    'outer: {
        if !body.is_empty() {
            match attempt(&[], &mut attempts) {
                None => break 'outer,
                Some(true) => body.clear(),
                Some(false) => {}
            }
        }
        loop {
            let mut changed = false;
            let mut chunk = body.len().div_ceil(2).max(1);
            while !body.is_empty() {
                let mut at = 0;
                while at < body.len() {
                    let end = (at + chunk).min(body.len());
                    let mut candidate = body[..at].to_vec();
                    candidate.extend_from_slice(&body[end..]);
                    match attempt(&candidate, &mut attempts) {
                        None => break 'outer,
                        Some(true) => {
                            body = candidate;
                            changed = true;
                        }
                        Some(false) => at += chunk,
                    }
                }
                if chunk == 1 {
                    break;
                }
                chunk = chunk.div_ceil(2);
            }
            if !changed || body.is_empty() {
                break;
            }
        }
        for at in 0..body.len() {
            let Some(simpler) = simpler(body[at]) else {
                continue;
            };
            let mut candidate = body.clone();
            candidate[at] = simpler;
            match attempt(&candidate, &mut attempts) {
                None => break 'outer,
                Some(true) => body = candidate,
                Some(false) => {}
            }
        }
    }
    body.extend_from_slice(&suffix);
    Shrunk {
        input: body,
        attempts,
    }
}

/// The simpler byte to try in place of `b`, if there is one.
fn simpler(b: u8) -> Option<u8> {
    match b {
        b'0' | b'a' => None,
        b'1'..=b'9' => Some(b'0'),
        b'b'..=b'z' | b'A'..=b'Z' => Some(b'a'),
        0x80..=0xff => Some(b'a'),
        b'\n' | b'\r' | b'\t' | b' ' => None,
        0..=0x1f | 0x7f => Some(b'a'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_everything_it_can_and_keeps_the_suffix() {
        // "Fails" whenever the input contains an `x` before the newline.
        let mut calls = 0;
        let out = shrink(b"abcxdef\n", 1, 100, &mut |c| {
            calls += 1;
            c.ends_with(b"\n") && c.contains(&b'x')
        });
        assert_eq!(out.input, b"x\n");
        assert_eq!(out.attempts, calls);
    }

    #[test]
    fn empty_first_and_simplification() {
        let out = shrink(b"anything\n", 1, 100, &mut |_| true);
        assert_eq!(out.input, b"\n");
        assert_eq!(out.attempts, 1);
        // Needs two digits: removal keeps two, simplification makes them zeros.
        let out = shrink(b"k93z", 0, 100, &mut |c| {
            c.iter().filter(|b| b.is_ascii_digit()).count() >= 2
        });
        assert_eq!(out.input, b"00");
    }

    #[test]
    fn respects_the_budget() {
        let mut calls = 0;
        let out = shrink(&[b'q'; 64], 0, 5, &mut |c| {
            calls += 1;
            c.len() > 60
        });
        assert_eq!(calls, 5);
        assert_eq!(out.attempts, 5);
        assert!(out.input.len() >= 61);
    }
}
