//! `linksim`: the link simulator as a program. It listens on a loopback UDP port and forwards
//! to a loopback target through a named profile, with any figure overridden, until Ctrl-C,
//! printing the bytes carried each way every few seconds and once more when it stops. With
//! port 0 it takes a free port; the line `linksim <address> → <target>` says which.
//!
//! `linksim --listen 127.0.0.1:5433 --target 127.0.0.1:4433 --profile vsat-bad --loss 0.05`

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use pathway_linksim::{LinkSim, Profile};

#[derive(Parser)]
#[command(
    about = "A user-space UDP link simulator for loopback: rate, delay, jitter, loss, outages"
)]
struct Args {
    /// Loopback address to listen on (port 0: any free port, printed once bound).
    #[arg(long)]
    listen: SocketAddr,
    /// Loopback address to forward to (the server).
    #[arg(long)]
    target: SocketAddr,
    /// Starting profile: lan, rural-3g or vsat-bad.
    #[arg(long, default_value = "lan")]
    profile: String,
    /// Rate cap each way, bits per second (0: none).
    #[arg(long)]
    rate_bps: Option<u64>,
    /// One-way delay, milliseconds.
    #[arg(long)]
    delay_ms: Option<u64>,
    /// Jitter, milliseconds.
    #[arg(long)]
    jitter_ms: Option<u64>,
    /// Probability of losing a packet, 0 to 1.
    #[arg(long)]
    loss: Option<f64>,
    /// An outage of `--outage-secs` at the end of every `--outage-every` seconds.
    #[arg(long, requires = "outage_secs")]
    outage_every: Option<u64>,
    #[arg(long, requires = "outage_every")]
    outage_secs: Option<u64>,
    /// Seed of the random drops and delays.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut p = Profile::named(&args.profile).with_context(|| {
        format!(
            "unknown profile `{}`; try one of {:?}",
            args.profile,
            Profile::NAMES
        )
    })?;
    if let Some(r) = args.rate_bps {
        p.rate_bps = r;
    }
    if let Some(d) = args.delay_ms {
        p.delay = Duration::from_millis(d);
    }
    if let Some(j) = args.jitter_ms {
        p.jitter = Duration::from_millis(j);
    }
    if let Some(l) = args.loss {
        anyhow::ensure!(
            (0.0..=1.0).contains(&l),
            "--loss must be between 0 and 1, not {l}"
        );
        p.loss = l;
    }
    if let (Some(every), Some(secs)) = (args.outage_every, args.outage_secs) {
        anyhow::ensure!(
            secs < every,
            "--outage-secs must be shorter than --outage-every"
        );
        p.outage = Some((Duration::from_secs(every), Duration::from_secs(secs)));
    }
    println!("{p:?}");
    let sim = LinkSim::start_on(args.listen, p, args.target, args.seed).await?;
    println!("linksim {} → {}; Ctrl-C to stop", sim.addr, args.target);
    let counters = || {
        format!(
            "up {} B, down {} B, dropped {}",
            sim.bytes_up(),
            sim.bytes_down(),
            sim.counters
                .dropped
                .load(std::sync::atomic::Ordering::Relaxed)
        )
    };
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick() => println!("{}", counters()),
        }
    }
    println!("stopped: {}", counters());
    Ok(())
}
