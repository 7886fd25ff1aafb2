//! `credlab vectors generate|check`

use std::path::{Path, PathBuf};

use clap::Subcommand;
use credlab_suite::vectors::{self, Fixture, check};

use crate::exit::{DATA, Failure, OK};

#[derive(Debug, Subcommand)]
pub enum VectorsCommand {
    /// Regenerate the token vectors and the JSON Schema (deterministic: fixed keys and clock).
    Generate {
        /// The vectors directory.
        #[arg(long, default_value_os_t = default_dir())]
        dir: PathBuf,
    },
    /// Validate every vector file against the schema and the semantic rules.
    Check {
        /// The vectors directory.
        #[arg(long, default_value_os_t = default_dir())]
        dir: PathBuf,
    },
}

/// `./vectors` when run from a checkout, else the source tree's `vectors/`.
fn default_dir() -> PathBuf {
    let local = PathBuf::from("vectors");
    if local.is_dir() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
    }
}

pub fn run(cmd: VectorsCommand) -> Result<u8, Failure> {
    match cmd {
        VectorsCommand::Generate { dir } => generate(&dir),
        VectorsCommand::Check { dir } => check_dir(&dir),
    }
}

fn generate(dir: &Path) -> Result<u8, Failure> {
    for (relative, contents) in vectors::render(&Fixture::offline()) {
        let path = dir.join(relative);
        let parent = path.parent().expect("generated paths have a directory");
        std::fs::create_dir_all(parent)
            .and_then(|()| std::fs::write(&path, contents))
            .map_err(|e| Failure::usage(format!("writing {}: {e}", path.display())))?;
        crate::out::outln!("wrote {}", path.display());
    }
    Ok(OK)
}

fn check_dir(dir: &Path) -> Result<u8, Failure> {
    let schema = check::compile_schema(&dir.join("schema").join("vectors.schema.json"))
        .map_err(|p| Failure::data(p.to_string()))?;
    let paths =
        check::vector_paths(dir).map_err(|e| Failure::data(format!("{}: {e}", dir.display())))?;
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        match check::load_any(&path, &schema) {
            Ok(file) => files.push((path.display().to_string(), file)),
            Err(found) => problems.extend(found),
        }
    }
    problems.extend(check::check_all(&files));
    let mut total = 0;
    for (name, file) in &files {
        let (n, group) = match file {
            check::AnyVectorFile::Token(f) => (f.cases.len(), &f.group),
            check::AnyVectorFile::Provider(f) => (f.cases.len(), &f.group),
            check::AnyVectorFile::Auth(f) => (f.cases.len(), &f.group),
        };
        total += n;
        crate::out::outln!("{name}: {n} cases ({group})");
    }
    if problems.is_empty() {
        crate::out::outln!("ok: {total} cases in {} files", files.len());
        return Ok(OK);
    }
    for problem in &problems {
        crate::out::errln!("{problem}");
    }
    crate::out::errln!("{} problem(s)", problems.len());
    Ok(DATA)
}
