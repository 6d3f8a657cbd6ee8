//! courierbench: a facility's changes carried by hand. The sample facility (2,000 case files,
//! 20,000 marks by default) is exported from a gateway that never had a link, imported at the
//! hub, imported again, and its receipt taken; then a link comes and the bench counts what
//! crosses it. Real stores on disk, real certificates.
//!
//! Run with `cargo run --release -p pathway-tests --bin courierbench [-- --json]`.

use std::time::Instant;

use clap::Parser;
use pathway_shared::courier::{self, HubEnd, HubSelf};
use pathway_shared::identity::Ca;
use pathway_shared::sync::SyncConfig;
use pathway_tests::harness::{LinkProfile, Net};
use pathway_tests::sample::{SampleConfig, SampleFacility};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 2_000)]
    cases: usize,
    #[arg(long, default_value_t = 20_000)]
    marks: usize,
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ca = Ca::generate("bench CA")?;
    let hub_creds = ca.issue_hub("hub.bench")?;
    let gw_creds = ca.issue_gateway("gw-WHK", "WHK", 30)?;
    let net = Net::new(
        1,
        &["WHK"],
        LinkProfile {
            latency: 300,
            rate_bps: 256_000,
            ..LinkProfile::default()
        },
        SyncConfig::default(),
    );
    let sample = SampleFacility::generate(&SampleConfig {
        facility_id: "WHK".into(),
        cases: args.cases,
        marks: args.marks,
        ..SampleConfig::default()
    });
    sample.load_national(&net.hub.store, 1)?;
    sample.load_facility(&net.gateways[0].0.store, 1)?;
    let (gw, hub) = (net.gateways[0].0.store.clone(), net.hub.store.clone());
    let hub_end = HubEnd {
        node: "hub",
        name: "hub.bench",
        cert_pem: &hub_creds.cert_pem,
    };
    let hub_self = HubSelf {
        node: "hub",
        ca_pem: &ca.creds.cert_pem,
        creds: &hub_creds,
    };
    let t = Instant::now();
    let (file, summary) = courier::export(&gw, ("gw-WHK", &gw_creds), &hub_end, "bench", 10)?;
    let export_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let first = courier::import(&hub, &hub_self, &file, "bench", |_| Ok(()), 20)?;
    let import_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let again = courier::import(&hub, &hub_self, &file, "bench", |_| Ok(()), 30)?;
    let again_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(again.again && again.receipt == first.receipt);
    let t = Instant::now();
    courier::take_receipt(
        &gw,
        ("gw-WHK", &gw_creds, &ca.creds.cert_pem),
        &hub_end,
        &first.receipt,
        40,
    )?;
    let receipt_s = t.elapsed().as_secs_f64();
    let mut net = net;
    net.connect(0);
    net.run_until_quiet(net.now + 60 * 60_000);
    let (gw_stats, _) = net.stats(0).expect("connected");
    let differences = net.differences(0).len();
    let rss = pathway_tests::rss_mb();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "cases": args.cases, "marks": args.marks, "changes": summary.changes,
                "file_bytes": file.len(), "receipt_bytes": first.receipt.len(),
                "export_s": export_s, "import_s": import_s, "import_again_s": again_s,
                "receipt_s": receipt_s,
                "link_changes_sent_after": gw_stats.changes_sent,
                "link_bytes_up_after": net.traffic[0].up,
                "documents_differing": differences, "rss_mb": rss,
            })
        );
    } else {
        println!(
            "courier: {} case files, {} marks: {} changes in a {} KiB file (receipt {} B)",
            args.cases,
            args.marks,
            summary.changes,
            file.len() >> 10,
            first.receipt.len()
        );
        println!(
            "  export {export_s:.2} s, import {import_s:.2} s, import again {again_s:.3} s (nothing written), receipt {receipt_s:.3} s"
        );
        println!(
            "  then a link: the gateway sent {} changes ({} bytes up, hello and acknowledgements); {} documents differ; RSS {rss:.0} MB",
            gw_stats.changes_sent, net.traffic[0].up, differences
        );
    }
    Ok(())
}
