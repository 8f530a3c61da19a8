//! `portico wizard schema|apply`: the browser wizard's validation, edits and apply, for
//! provisioning without a browser.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use app::i18n::Lang;
use app::wizard::Answers;

use super::{KeyPool, plan};

/// `portico wizard schema`: the JSON Schema of the answers file.
pub fn schema() -> ExitCode {
    let schema = schemars::schema_for!(Answers);
    println!(
        "{}",
        serde_json::to_string_pretty(&schema).unwrap_or_default()
    );
    ExitCode::SUCCESS
}

/// The answers file, or `None` after printing where it is not valid JSON for [`Answers`].
fn read_answers(answers_file: &Path) -> anyhow::Result<Option<Answers>> {
    let text = std::fs::read_to_string(answers_file)
        .map_err(|e| anyhow::anyhow!("{}: {e}", answers_file.display()))?;
    match serde_json::from_str(&text) {
        Ok(a) => Ok(Some(a)),
        Err(e) => {
            eprintln!(
                "{}: line {}, column {}: {e}",
                answers_file.display(),
                e.line(),
                e.column()
            );
            Ok(None)
        }
    }
}

/// The router's settings `apply` follows (`/etc/config/portico`, read by the caller).
#[derive(Clone, Copy, Debug)]
pub struct Times {
    /// How long a checked apply waits for Enter before it is rolled back.
    pub apply_timeout: Duration,
    /// The idle time of the admin sessions the new password starts with.
    pub session_idle: Duration,
}

/// `portico wizard apply --answers FILE [--unchecked]`: the browser wizard's validation, edits
/// and apply, for provisioning without a browser. Errors are printed as `field: message` in
/// the answers' language (exit 2). A checked apply waits for Enter to keep the change and rolls
/// back after the confirmation window.
///
/// # Errors
/// When the files cannot be read or the platform cannot be prepared.
pub fn apply(
    root: &Path,
    answers_file: &Path,
    unchecked: bool,
    times: Times,
) -> anyhow::Result<ExitCode> {
    let Some(answers) = read_answers(answers_file)? else {
        return Ok(ExitCode::from(2));
    };
    let platform = crate::platform::open(root)?;
    let plan = match plan(
        &answers,
        platform.as_ref(),
        unchecked,
        &mut KeyPool::default(),
    )? {
        Ok(plan) => plan,
        Err(problems) => {
            let lang = answers
                .language
                .as_deref()
                .and_then(Lang::from_code)
                .unwrap_or_default();
            for problem in &problems {
                eprintln!("{}: {}", problem.field, problem.message(lang));
            }
            return Ok(ExitCode::from(2));
        }
    };
    let db = crate::state::StateDb::open(root)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let applier =
            crate::apply::Applier::start(platform.clone(), db.clone(), times.apply_timeout)?;
        // The certificates first: the services read them when they reload.
        plan.write_files(platform.root())?;
        let mut reloads = applier.reloads();
        let follow_up = !plan.drop_on_confirm.is_empty();
        let result = match applier.apply_keeping(&plan.edits, !unchecked, plan.drop_on_confirm) {
            Ok(result) => result,
            Err(crate::apply::Error::Empty) => {
                println!("nothing to change");
                set_password(&answers, &platform, &db, times.session_idle)?;
                set_community(&answers, &db)?;
                return Ok(ExitCode::SUCCESS);
            }
            Err(e) => return Err(anyhow::anyhow!("{e}")),
        };
        println!("changed: {}", result.files.join(", "));
        // The services reload after the holdoff; wait for it before deciding.
        let _ = reloads.changed().await;
        if let Some(note) = applier.status().note {
            println!("note: {note}");
        }
        if !unchecked {
            print!(
                "Press Enter within {} s to keep the change; otherwise it is rolled back: ",
                result.seconds
            );
            let _ = std::io::stdout().flush();
            let enter = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0)
            });
            let kept = tokio::select! {
                pressed = enter => pressed.unwrap_or(false),
                () = tokio::time::sleep(Duration::from_secs(result.seconds)) => false,
            };
            if !kept {
                let _ = applier.rollback();
                println!("\nrolled back");
                return Ok(ExitCode::from(1));
            }
            applier.confirm(None)?;
            // Let the follow-up change (dropping the old LAN address) reload before exiting.
            if follow_up {
                let _ = reloads.changed().await;
            }
            println!("kept");
        }
        set_password(&answers, &platform, &db, times.session_idle)?;
        set_community(&answers, &db)?;
        for client in &plan.clients {
            println!(
                "\nWireGuard client `{}` (shown once; its private key is not kept):\n{}\n{}",
                client.name,
                client.text,
                client.qr()
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The administrator password (web login) and root's password in `etc/shadow`.
fn set_password(
    answers: &Answers,
    platform: &Arc<dyn crate::platform::Platform>,
    db: &crate::state::StateDb,
    idle: Duration,
) -> anyhow::Result<()> {
    let Some(password) = &answers.password else {
        return Ok(());
    };
    crate::auth::Auth::new(db.clone(), idle)?.set_password(password)?;
    platform.set_root_password(password)?;
    Ok(())
}

/// The community mesh the answers join or create; a new community's join code is printed (the
/// other routers join with it).
fn set_community(answers: &Answers, db: &crate::state::StateDb) -> anyhow::Result<()> {
    let Some(community) = &answers.community else {
        return Ok(());
    };
    let membership = super::session::membership(community)
        .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message(Lang::default())))?;
    membership.save(db)?;
    println!("community mesh: {}", membership.community);
    if matches!(community, app::wizard::Community::Create { .. }) {
        println!(
            "its join code (a secret: whoever has it is a member): {}",
            membership.join_code()
        );
    }
    Ok(())
}
