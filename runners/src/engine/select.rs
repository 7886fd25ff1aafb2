//! Which cases run, in what order, on how many threads: `--only`/`--skip`, `--shuffle`,
//! `--jobs`, the same for every kind of target.

use credlab_suite::cases::{Case, VectorFile};
use globset::{Glob, GlobSet, GlobSetBuilder};

/// Case-id filters from `--only` and `--skip` (globs over case ids).
#[derive(Debug, Clone)]
pub struct Filter {
    only: Option<GlobSet>,
    skip: GlobSet,
}

/// A glob that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{glob:?}: {source}")]
pub struct FilterError {
    glob: String,
    source: globset::Error,
}

impl Filter {
    /// Keeps the ids matching any of `only` (every id when it is empty) and none of `skip`.
    pub fn new(only: &[String], skip: &[String]) -> Result<Self, FilterError> {
        let build = |globs: &[String]| -> Result<GlobSet, FilterError> {
            let mut set = GlobSetBuilder::new();
            for glob in globs {
                set.add(Glob::new(glob).map_err(|source| FilterError {
                    glob: glob.clone(),
                    source,
                })?);
            }
            set.build().map_err(|source| FilterError {
                glob: globs.join(" "),
                source,
            })
        };
        Ok(Self {
            only: if only.is_empty() {
                None
            } else {
                Some(build(only)?)
            },
            skip: build(skip)?,
        })
    }

    /// Every case.
    pub fn all() -> Self {
        Self {
            only: None,
            skip: GlobSet::empty(),
        }
    }

    pub fn keeps(&self, id: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.is_match(id)) && !self.skip.is_match(id)
    }

    /// The cases of `files` this filter keeps, in file order.
    pub fn select<I, E>(
        &self,
        files: impl IntoIterator<Item = VectorFile<I, E>>,
    ) -> Vec<Case<I, E>> {
        files
            .into_iter()
            .flat_map(|f| f.cases)
            .filter(|c| self.keeps(c.id.as_str()))
            .collect()
    }
}

/// The order cases start in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// As the vector files list them (cases that share state on the target, like a
    /// registry's probe crate, are written to run in this order).
    Declared,
    /// Costliest first (see [`Job::cost`](super::Job)), so a slow case does not start last
    /// while the other workers sit idle.
    LongestFirst,
    /// A random order from this seed (`--shuffle`), to show verdicts do not depend on order.
    Shuffled(u64),
}

/// How cases are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Worker threads (at least 1).
    pub jobs: usize,
    pub order: Order,
}

impl Schedule {
    /// One case at a time, in declared order: for targets whose cases share state.
    pub fn sequential() -> Self {
        Self {
            jobs: 1,
            order: Order::Declared,
        }
    }
}

/// Fisher-Yates with SplitMix64: the same seed gives the same order on every machine.
pub(crate) fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = crate::blackbox::rng::Rng::new(seed);
    for i in (1..items.len()).rev() {
        let j = rng.below(i + 1);
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_and_skip_compose() {
        let filter = Filter::new(&["token::*".into()], &["token::valid::*".into()]).unwrap();
        assert!(filter.keeps("token::expired::epoch"));
        assert!(!filter.keeps("token::valid::read"));
        assert!(!filter.keeps("provider::get::read"));
        assert!(Filter::all().keeps("anything::at::all"));
        assert!(Filter::new(&["[".into()], &[]).is_err());
    }

    #[test]
    fn a_seed_gives_one_order() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        shuffle(&mut a, 7);
        shuffle(&mut b, 7);
        assert_eq!(a, b);
        assert_ne!(a, (0..50).collect::<Vec<_>>());
    }
}
