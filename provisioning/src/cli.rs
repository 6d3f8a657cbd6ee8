//! The command line's words: every command, its arguments and its `--help`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::import;

#[derive(Parser)]
#[command(
    version,
    about = "Pathway's command line for facility IT and national administrators"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum CaCommand {
    /// Make the national CA: its certificate, and its key sealed under a passphrase (from
    /// PATHWAY_CA_PASSPHRASE, or asked for). The key never leaves this machine.
    Init {
        /// The CA's folder (`pathway ca init --dir`).
        #[arg(long, visible_alias = "ca-dir", default_value = "/etc/pathway-ca")]
        dir: PathBuf,
        #[arg(long, default_value = "Pathway national CA")]
        name: String,
    },
    /// Issue the hub's certificate (for the name gateways dial) into a folder.
    IssueHub {
        /// The CA's folder (`pathway ca init --dir`).
        #[arg(long, visible_alias = "ca-dir", default_value = "/etc/pathway-ca")]
        dir: PathBuf,
        /// The hub's DNS name, as in gateways' `[hub] name`.
        #[arg(long)]
        name: String,
        /// Where to write hub.pem, hub.key and ca.pem.
        #[arg(long)]
        out: PathBuf,
    },
    /// Renew a gateway's certificate before it expires, with no new bundle: takes the
    /// certificate the gateway last presented from the hub, issues the same gateway, facility
    /// and key for longer, and sends it through the hub; the gateway installs it on its next
    /// sync. Needs a national administrator's log-in (password from PATHWAY_ADMIN_PASSWORD or
    /// the prompt) and the CA's passphrase.
    Renew {
        /// The gateway id, as enrolled (gw-whk01-a).
        gateway: String,
        /// The CA's folder (`pathway ca init --dir`).
        #[arg(long, visible_alias = "ca-dir", default_value = "/etc/pathway-ca")]
        dir: PathBuf,
        /// The hub's administration, host:port (its [admin] listen).
        #[arg(long)]
        hub: String,
        /// The national administrator's username.
        #[arg(long)]
        user: String,
        /// Days the renewed certificate is valid.
        #[arg(long, default_value_t = 825)]
        days: i64,
    },
    /// Renew a certificate file in place, for the same name and key: a gateway's own (also
    /// one that has expired, which the hub no longer lets in), the hub's (its [tls] cert) or a
    /// gateway's console (its [lan] cert). Copy only the certificate here, never its key; the
    /// old one is kept as FILE.previous. Needs the CA's passphrase.
    RenewCert {
        /// The certificate file (gateway.pem, lan.pem, hub.pem).
        file: PathBuf,
        /// The CA's folder (`pathway ca init --dir`).
        #[arg(long, visible_alias = "ca-dir", default_value = "/etc/pathway-ca")]
        dir: PathBuf,
        /// Days the renewed certificate is valid.
        #[arg(long, default_value_t = 825)]
        days: i64,
    },
}

#[derive(Subcommand)]
pub(crate) enum CourierCommand {
    /// At the gateway: write every change the hub has not acknowledged to a file for a USB
    /// stick, signed by this gateway and sealed so that only the hub opens it.
    Export {
        /// The gateway's configuration.
        #[arg(long, default_value = "/etc/pathway/gateway.toml")]
        config: PathBuf,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
        /// Who carries the file (recorded at the hub, in its review queue and audit trail).
        #[arg(long)]
        carried_by: String,
    },
    /// At the hub's administration: hand a gateway's courier file to the hub and write the
    /// receipt to carry back. Importing a file twice changes nothing. Needs a national
    /// administrator's or sync operator's log-in (password from PATHWAY_ADMIN_PASSWORD or the
    /// prompt).
    Import {
        /// The courier file.
        file: PathBuf,
        /// Where to write the receipt.
        #[arg(long)]
        receipt: PathBuf,
        /// The hub's administration, host:port (its [admin] listen).
        #[arg(long)]
        hub: String,
        /// The national CA certificate.
        #[arg(long, default_value = "/etc/pathway/ca.pem")]
        ca: PathBuf,
        /// The administrator's username.
        #[arg(long)]
        user: String,
    },
    /// At the gateway: take the hub's receipt, so that nothing it holds is sent again.
    Receipt {
        /// The receipt file.
        file: PathBuf,
        /// The gateway's configuration.
        #[arg(long, default_value = "/etc/pathway/gateway.toml")]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run a hub and two gateways on loopback over a simulated bad link, with sample data.
    Demo {
        /// Link profile between each gateway and the hub: lan, rural-3g or vsat-bad.
        #[arg(long, default_value = "vsat-bad")]
        profile: String,
        /// Case files per facility.
        #[arg(long, default_value_t = 1_000)]
        cases: usize,
        /// Attendance marks per facility.
        #[arg(long, default_value_t = 10_000)]
        marks: usize,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
        /// Keep the demo's stores and certificates here instead of a temporary folder.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Write a sample facility (catalogue, runs, staff, registers, case files) into a store.
    Sample {
        /// Folder of the store to write into (created if missing).
        #[arg(long)]
        data_dir: PathBuf,
        /// The store's key file (`store_key` in the daemon's configuration); made if missing.
        #[arg(long)]
        key: Option<PathBuf>,
        #[arg(long, default_value = "WHK")]
        facility: String,
        #[arg(long, default_value_t = 2_000)]
        cases: usize,
        #[arg(long, default_value_t = 20_000)]
        marks: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The day the sample is "as of" (ISO date, today if not given): sessions are marked up
        /// to the day before, and today's and the next two weeks' wait to be marked.
        #[arg(long)]
        today: Option<String>,
    },
    /// The national certificate authority.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
    /// Issue a gateway's certificates into an enrolment bundle; prints the one-time code that
    /// opens it (give it to facility IT apart from the bundle).
    Enrol {
        /// Where `pathway ca init` put the CA.
        #[arg(long, visible_alias = "dir", default_value = "/etc/pathway-ca")]
        ca_dir: PathBuf,
        /// The facility the gateway serves (its id in the national registry).
        #[arg(long)]
        facility: String,
        /// The gateway's id, e.g. gw-whk01-a.
        #[arg(long)]
        gateway: String,
        /// The hub's QUIC address as gateways reach it.
        #[arg(long)]
        hub_addr: std::net::SocketAddr,
        /// The name in the hub's certificate.
        #[arg(long)]
        hub_name: String,
        /// The hub's certificate (hub.pem from `pathway ca issue-hub`), which courier files
        /// are sealed to. By default the one `ca issue-hub` kept beside the CA.
        #[arg(long)]
        hub_cert: Option<PathBuf>,
        /// The name staff type to reach the console on the prison LAN; each facility's is its
        /// own, so one box's key serves no other prison's console (default
        /// `<facility>.pathway.local`, lowercase).
        #[arg(long)]
        lan_name: Option<String>,
        /// Days the gateway's certificate is valid.
        #[arg(long, default_value_t = 825)]
        days: i64,
        /// The bundle file to write (default: GATEWAY.pathway-bundle).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The facility's IANA time zone (Africa/Windhoek, Asia/Bangkok), carried in the bundle:
        /// every time its staff see is in it. Without it, the facility's entry in the national
        /// registry says.
        #[arg(long)]
        time_zone: Option<String>,
        /// Register the gateway at the hub's administration (host:port, its [admin] listen)
        /// first, so the fleet lists it before it connects; needs --user. Without it, register
        /// it in the dashboard.
        #[arg(long, requires = "user")]
        hub_admin: Option<String>,
        /// The national administrator who registers it (password from PATHWAY_ADMIN_PASSWORD
        /// or the prompt).
        #[arg(long, requires = "hub_admin")]
        user: Option<String>,
    },
    /// Install an enrolment bundle on the appliance: checks the one-time code and the bundle,
    /// then writes /etc/pathway (configuration, certificates, owner-only keys), the state
    /// folder and the systemd unit, makes the service user and enables the unit.
    Install {
        /// The bundle file from `pathway enrol`.
        bundle: PathBuf,
        /// The one-time code printed with the bundle.
        #[arg(long)]
        code: String,
        /// Install under this folder instead of / (for images and tests; no user, no systemctl).
        #[arg(long, default_value = "/")]
        root: PathBuf,
        /// Where the staff console listens on the LAN.
        #[arg(long, default_value = "0.0.0.0:443")]
        lan_listen: std::net::SocketAddr,
        /// Where the sync status is served (loopback only).
        #[arg(long, default_value = "127.0.0.1:9470")]
        status_listen: std::net::SocketAddr,
        /// The national CA's fingerprint as the national admin read it to you (printed by
        /// `pathway enrol`): a bundle whose CA differs is refused before anything is written.
        #[arg(long)]
        ca_fingerprint: Option<String>,
        /// How the store's key is kept: `sealed` with systemd-creds (TPM2 or host key; the
        /// service gets it through LoadCredentialEncrypted=), or a `file` beside the
        /// configuration. `auto`: sealed on the box itself (no --root) where systemd-creds is.
        #[arg(long, value_enum, default_value_t = crate::enrol::KeyKeeping::Auto)]
        store_key: crate::enrol::KeyKeeping,
    },
    /// Install a certificate renewed by hand (`pathway ca renew-cert` at the CA): this
    /// gateway's own, handed to the running daemon, which presents it at once; or its
    /// console's. Checked first: the national CA's, for this gateway's key, valid for longer.
    InstallCert {
        /// The renewed certificate file.
        file: PathBuf,
        /// The gateway's configuration.
        #[arg(long, default_value = "/etc/pathway/gateway.toml")]
        config: PathBuf,
    },
    /// Check a gateway's setup: configuration, certificates and keys, their permissions and
    /// expiry, disk space, the store, the running daemon and its last sync, the hub over QUIC;
    /// or, with --hub, the hub's (its certificate, key, disk, store, daemon and
    /// administration). One line of advice per check; exits non-zero if any check fails.
    Doctor {
        /// The configuration (default /etc/pathway/gateway.toml, or /etc/pathway/hub.toml
        /// with --hub).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Check the national hub's setup instead of a gateway's.
        #[arg(long)]
        hub: bool,
        /// Free space (MB) on the data folder's disk below which the disk check fails.
        #[arg(long, default_value_t = 500)]
        min_free_mb: u64,
        /// Seconds to wait for the hub's answer.
        #[arg(long, default_value_t = 10)]
        hub_timeout: u64,
    },
    /// The running gateway's sync state, in the words the console shows; with --hub, the
    /// hub's, for every gateway it has seen.
    Status {
        /// The configuration (default /etc/pathway/gateway.toml, or /etc/pathway/hub.toml
        /// with --hub).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The national hub's state instead of a gateway's.
        #[arg(long)]
        hub: bool,
    },
    /// Import a facility's existing register (people in custody, or staff accounts) from a
    /// CSV file into its gateway's store. Stop the gateway first. Every row is checked before
    /// anything is stored; a bad row is named by line and column; the same file twice changes
    /// nothing.
    Import {
        /// people or staff.
        what: import::What,
        /// The CSV file (UTF-8, a header row first).
        file: PathBuf,
        /// The gateway's configuration.
        #[arg(long, default_value = "/etc/pathway/gateway.toml")]
        config: PathBuf,
        /// Who is importing (written in the audit trail and on each record).
        #[arg(long)]
        by: String,
        /// Change people already held to what the file says where their cells differ (without
        /// it, the differences are listed and nothing of theirs changes).
        #[arg(long)]
        update: bool,
    },
    /// Revoke a gateway (a lost or stolen box): the hub cuts its session at once and refuses it
    /// from then on. Needs a national administrator's log-in at the hub's administration; the
    /// password is read from PATHWAY_ADMIN_PASSWORD or the prompt.
    Revoke {
        /// The gateway id, as enrolled (gw-whk01-a).
        gateway: String,
        /// Why, for the audit trail and the list.
        #[arg(long)]
        reason: String,
        /// The hub's administration, host:port (its [admin] listen).
        #[arg(long)]
        hub: String,
        /// The national CA certificate.
        #[arg(long, default_value = "/etc/pathway/ca.pem")]
        ca: PathBuf,
        /// The national administrator's username.
        #[arg(long)]
        user: String,
    },
    /// Carry changes by hand, for a site with no link: export them at the gateway, import them
    /// at the hub, and bring the receipt back.
    #[command(subcommand)]
    Courier(CourierCommand),
    /// Take a consistent backup of the running gateway's store (through its status port) into
    /// a file. Content in it stays sealed: keep a copy of the key file apart from the backups.
    Backup {
        /// The gateway's configuration.
        #[arg(long, default_value = "/etc/pathway/gateway.toml")]
        config: PathBuf,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Make the gateway's store again from a backup, with the gateway stopped. The restored
    /// store writes as a new node; what reached the hub after the backup comes back on the
    /// next sync.
    Restore {
        /// The gateway's configuration.
        #[arg(long, default_value = "/etc/pathway/gateway.toml")]
        config: PathBuf,
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// Move a store that is already there aside first (it is kept).
        #[arg(long)]
        replace: bool,
        /// Take a backup of the earlier kind, which nothing authenticates (made before backups
        /// were signed with the store's key), if you trust where it was kept.
        #[arg(long)]
        trust_unauthenticated: bool,
    },
    /// Make a new, empty store for a gateway whose store is lost or will not open (a dead
    /// disk), to be filled again from the hub; the old one is kept aside. Stop the gateway first.
    Rebuild {
        /// The gateway's configuration.
        #[arg(long, default_value = "/etc/pathway/gateway.toml")]
        config: PathBuf,
    },
    /// Count the documents in a store, by partition and kind.
    Inspect {
        #[arg(long)]
        data_dir: PathBuf,
        /// The store's key file (`store_key` in the daemon's configuration), if it is encrypted.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Partitions to count: `national` and `facility:<id>`.
        #[arg(long = "partition", default_values_t = ["national".to_owned()])]
        partitions: Vec<String>,
    },
}
