//! `roster push`: sends a stored plan to the vendor's API (see [`crate::push`]), then shows
//! where the push stands. Exit 0 when every user was accepted, 4 when the vendor rejected
//! some (the rest loaded), 1 when the push could not finish (the message says to run it
//! again to resume).

use std::io::Write;
use std::time::Duration;

use super::{load_pack, location_field, open_existing, Hint};
use crate::cli::{Globals, Output, PushArgs};
use crate::error::{Error, RefusedKind, Result};
use crate::model::vendor::Vendor;
use crate::progress::Progress;
use crate::push::auth::AuthFailure;
use crate::push::{self, Authorizer, Client, ClientOptions, Credentials, Report, RetryPolicy};
use crate::render::table::{self, stdout_error};
use crate::store::{plans, refs};

/// The exit status of a push some of whose users the vendor rejected.
const EXIT_REJECTED: i32 = 4;

/// Rows of the refused users' table.
const SHOWN_ROWS: usize = 500;

pub(super) fn run(globals: &Globals, args: &PushArgs, out: &mut dyn Write) -> Result<i32> {
    if args.batch_size == Some(0) {
        return Err(Error::Usage(
            "`--batch-size 0` would put no user in any batch; give 1 or more".into(),
        ));
    }
    if args.concurrency == 0 {
        return Err(Error::Usage(
            "`--concurrency 0` would send nothing; give 1 or more".into(),
        ));
    }
    let env = |name: &str| std::env::var(name).ok();
    // Credentials first: a missing one stops the push before anything is read or sent.
    let credentials = Credentials::from_env(args.vendor, env)?;
    let pack = load_pack(globals)?;
    let vendor = args.vendor;
    let endpoint = endpoint(args, pack.settings())?;
    let token_url = pack
        .settings()
        .urls
        .get("esystems_token_url")
        .cloned()
        .unwrap_or_else(|| format!("{endpoint}/oAuth/rest/v2/Token"));
    let options = ClientOptions {
        ca_cert: args.ca_cert.clone(),
        connect_timeout: Duration::from_secs(args.connect_timeout.max(1)),
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let client = Client::new(&endpoint, &options, env)?;
    let auth = Authorizer::new(credentials, token_url);
    // Client credentials are checked before anything is read or sent: a refused pair stops
    // the push with nothing begun. (A static token shows only with the first batch.)
    if let Err(AuthFailure::Refused(refusal)) = auth.prepare(&client) {
        return Err(Error::refused(
            RefusedKind::Credentials,
            format!(
                "{refusal}; check {} and run the push again",
                auth.variables()
            ),
        ));
    }
    let mut workspace = open_existing(globals)?;
    let plan = plans::find(&workspace.conn, &globals.tenant, &args.plan)?;
    if !plan.summary.has_changes() {
        writeln!(out, "Plan {} has no changes: nothing to push.", plan.id).map_err(stdout_error)?;
        return Ok(0);
    }
    let tables = refs::all(&workspace.conn, &globals.tenant)?;
    let locations = location_field(pack.settings(), &tables, vendor == Vendor::ESystems)?;
    let push_options = push::Options {
        vendor,
        endpoint: &endpoint,
        batch_size: args.batch_size,
        workspace: args.workspace.as_deref(),
        concurrency: args.concurrency,
        policy: RetryPolicy::new(args.max_retries),
        client: &client,
        auth: &auth,
        progress: Progress::wanted(globals.quiet),
        locations: &locations,
    };
    let report = push::push(&mut workspace, &plan, &pack, &push_options)?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    match args.output {
        Output::Json => {
            serde_json::to_writer_pretty(&mut *out, &report).map_err(|e| stdout_error(e.into()))?;
            writeln!(out).map_err(stdout_error)?;
        }
        Output::Table => {
            let refused = push::refused_users(&workspace, &report)?;
            show(out, globals, args, &report, &refused)?;
        }
    }
    out.flush().map_err(stdout_error)?;
    let again = resume_hint(globals, args, report.plan_id);
    if let Some(refusal) = &report.refused {
        return Err(Error::refused(RefusedKind::Credentials, format!(
            "the vendor refused the credentials in {} ({refusal}); check them and run {again} to resume",
            auth.variables()
        )));
    }
    if report.batches.failed > 0 {
        let (file, why) = &report.failures[0];
        return Err(Error::refused(RefusedKind::Undelivered, format!(
            "the push of plan {} to {vendor} could not finish: {} of {} batches not delivered (`{file}`: {why}); run {again} to resume",
            report.plan_id, report.batches.failed, report.batches.total
        )));
    }
    Ok(if report.users.rejected > 0 {
        EXIT_REJECTED
    } else {
        0
    })
}

/// The base URL: `--endpoint`, else the tenant's `<vendor>_endpoint`, without a final `/`.
fn endpoint(args: &PushArgs, settings: &crate::rules::Settings) -> Result<String> {
    let setting = format!("{}_endpoint", args.vendor);
    let url = match &args.endpoint {
        Some(url) => url.trim().to_string(),
        None => settings.urls.get(&setting).cloned().ok_or_else(|| {
            Error::Usage(format!(
                "no endpoint for {}: pass `--endpoint URL` or set `{setting}` in the tenant's `tenant.toml`",
                args.vendor
            ))
        })?,
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        // The tenant's `tenant.toml` is checked for URLs as it is read: this is `--endpoint`.
        return Err(Error::Usage(format!(
            "`--endpoint {url}` is not an http:// or https:// URL; give the vendor's base URL, such as `https://api.example.com`"
        )));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The command that resumes this push, with the options it needs.
fn resume_hint(globals: &Globals, args: &PushArgs, plan_id: i64) -> Hint {
    let mut hint =
        Hint::new(globals).args(["push", &plan_id.to_string(), "--vendor", args.vendor.name()]);
    if let Some(endpoint) = &args.endpoint {
        hint = hint.arg("--endpoint").arg(endpoint);
    }
    if let Some(workspace) = &args.workspace {
        hint = hint.arg("--workspace").arg(workspace);
    }
    if let Some(ca_cert) = &args.ca_cert {
        hint = hint.arg("--ca-cert").arg(ca_cert.display());
    }
    hint
}

fn show(
    out: &mut dyn Write,
    globals: &Globals,
    args: &PushArgs,
    report: &Report,
    refused: &[crate::store::vendor_results::VendorResult],
) -> Result<()> {
    if report.already_done {
        writeln!(
            out,
            "Plan {} was already pushed to {}: every batch is acknowledged, so nothing was sent.",
            report.plan_id, report.vendor
        )
        .map_err(stdout_error)?;
    }
    if !refused.is_empty() {
        let rows = refused
            .iter()
            .take(SHOWN_ROWS)
            .map(|r| {
                vec![
                    r.status.as_str().to_string(),
                    r.key.clone(),
                    r.source.clone().unwrap_or_default(),
                    r.batch_file.clone(),
                    r.path.clone().unwrap_or_default(),
                    r.message.clone(),
                ]
            })
            .collect();
        table::simple(
            out,
            &["status", "key", "source", "batch", "path", "message"],
            rows,
        )?;
        if refused.len() > SHOWN_ROWS {
            writeln!(out, "… and {} more.", refused.len() - SHOWN_ROWS).map_err(stdout_error)?;
        }
    }
    let (b, u) = (report.batches, report.users);
    writeln!(
        out,
        "Plan {} to {}: {} of {} batches acknowledged; users {} accepted, {} with warnings, {} rejected, {} not delivered; {} requests sent ({} retries).",
        report.plan_id, report.vendor, b.acknowledged, b.total, u.accepted, u.warning, u.rejected, u.failed, report.requests, report.retries
    )
    .map_err(stdout_error)?;
    if !globals.quiet && u.rejected > 0 {
        writeln!(
            out,
            "The state does not hold the rejected users, so the next plan of the same input shows them again; {} lists them.",
            Hint::new(globals).args(["results", &report.plan_id.to_string(), "--vendor", args.vendor.name()])
        )
        .map_err(stdout_error)?;
    }
    Ok(())
}
